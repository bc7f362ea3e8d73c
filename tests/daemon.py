"""
Run the real daemon (C{twistd -n netlab ...}) in a subprocess for system tests.

    with Daemon.start(["--daytime", "{port}"]) as daemon:
        daemon.port("daytime")  # the free port it was given

Service options whose value contains C{{port}} get a free loopback port
(C{{port}} alone becomes C{tcp:PORT:interface=127.0.0.1}).  The log is written
to a file and checked for tracebacks by L{Daemon.assertCleanLog}.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: Upper bound for the daemon to start or stop; a guard against hanging tests,
#: not a performance expectation.
START_TIMEOUT = 20.0


def twistd() -> str:
    """
    The twistd script of the Python running the tests.
    """
    script = Path(sys.executable).with_name("twistd")
    return str(script) if script.exists() else "twistd"


def freePort(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """
    A port that nothing listens on right now.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def waitForPort(port: int, host: str = "127.0.0.1", timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        try:
            with socket.socket(family) as s:
                s.settimeout(1)
                s.connect((host, port))
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Daemon:
    """
    A running C{twistd -n netlab} process.
    """

    def __init__(self, process: subprocess.Popen, ports: dict[str, int], log: Path, tmp):
        self.process = process
        self.ports = ports
        self.logPath = log
        self._tmp = tmp

    @classmethod
    def start(
        cls, options: Sequence[str], wait: bool = True, env: dict[str, str] | None = None
    ) -> Daemon:
        """
        Start the daemon with C{options}, filling in free ports; wait until every
        TCP service accepts connections.
        """
        tmp = tempfile.TemporaryDirectory(prefix="netlab-test-")
        args, ports = [], {}
        name = None
        for option in options:
            if name is not None and "{port}" in option:
                udp = name.endswith("-udp")
                port = freePort(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
                ports[name] = port
                if option == "{port}" and not udp:
                    option = "tcp:{port}:interface=127.0.0.1"
                elif option == "{port}":
                    option = "127.0.0.1:{port}"
                option = option.replace("{port}", str(port))
            name = option[2:] if option.startswith("--") else None
            args.append(option.replace("{tmp}", tmp.name))
        log = Path(tmp.name) / "twistd.log"
        command = [twistd(), "-n", "--pidfile=", f"--logfile={log}", "netlab", *args]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=tmp.name,
            env={**os.environ, **(env or {})},
        )
        daemon = cls(process, ports, log, tmp)
        if wait:
            try:
                for service, port in ports.items():
                    if not service.endswith("-udp"):
                        daemon.waitForPort(port)
            except BaseException:
                daemon.stop()
                raise
        return daemon

    def waitForPort(self, port: int) -> None:
        """
        Wait until the daemon serves C{port}: it accepts a connection and has
        logged that it listens there.  (Before it starts, the daemon tries
        every address with a socket of its own, which accepts connections and
        then closes: a connection that landed there was reset.)
        """
        deadline = time.monotonic() + START_TIMEOUT
        while self.process.poll() is None:
            try:
                waitForPort(port, timeout=0.2)
                if f"starting on {port}" in self.log():
                    return
                time.sleep(0.05)
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"port {port} not served within {START_TIMEOUT:g} s")
        raise RuntimeError(f"daemon exited with {self.process.returncode}:\n{self.output()}")

    def port(self, service: str) -> int:
        return self.ports[service]

    def connect(self, service: str, timeout: float = 10.0) -> socket.socket:
        """
        A blocking socket connected to C{service}.
        """
        return socket.create_connection(("127.0.0.1", self.ports[service]), timeout=timeout)

    def rss(self) -> int:
        """
        The daemon's resident set size in bytes, from /proc.
        """
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = START_TIMEOUT) -> int:
        """
        Send C{sig}; wait for the exit status (killing the process if it hangs).
        """
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        """
        What twistd printed to its stdout/stderr (only once it has exited) plus the log.
        """
        printed = ""
        if self.process.poll() is not None and self.process.stdout is not None:
            printed = self.process.stdout.read().decode("utf-8", "replace")
            self.process.stdout.close()
            self.process.stdout = None
        return printed + self.log()

    def log(self) -> str:
        try:
            return self.logPath.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def assertCleanLog(self) -> None:
        text = self.log()
        for bad in ("Unhandled Error", "Traceback (most recent call last)", "Unhandled error"):
            if bad in text:
                raise AssertionError(f"{bad!r} in the daemon's log:\n{text[-5000:]}")

    def close(self) -> None:
        self.stop()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._tmp.cleanup()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run(options: Sequence[str], timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
    """
    Run C{twistd -n netlab OPTIONS} to completion (for start-up failures).
    """
    with tempfile.TemporaryDirectory(prefix="netlab-test-") as tmp:
        return subprocess.run(
            [twistd(), "-n", "--pidfile=", "netlab", *options],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=tmp,
            timeout=timeout,
        )


def recvAll(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """
    Read until the peer closes (or C{limit} bytes).
    """
    chunks, size = [], 0
    while size < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def recvUntil(sock: socket.socket, marker: bytes, limit: int = 1 << 20) -> bytes:
    """
    Read until C{marker} has arrived (or the peer closes, or C{limit} bytes).
    """
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
