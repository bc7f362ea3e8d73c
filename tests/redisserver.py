"""
Run a real C{redis-server} (Debian's) in a subprocess for system tests.

    with RedisServer.start() as redis:
        redis.url                   # redis://127.0.0.1:PORT/0
        redis.command("XLEN", "netlab:room:netlab:log")
        redis.kill9()               # gone, as after a crash
        redis.pause()               # hung (SIGSTOP); redis.resume() undoes it
        redis.restart()             # back on the same port, empty

It listens on a free loopback port (and a UNIX socket in its own temporary
directory), keeps nothing on disk (C{--save '' --appendonly no}) and is killed
when the context ends, whatever happened.  Where C{redis-server} is not
installed, L{RedisServer.start} raises L{unittest.SkipTest} naming the package
(tests may ask L{missing} first, to skip in C{setUp}).  Every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from tests.daemon import freePort

#: Where Debian's package puts the server.
REDIS_SERVER = "/usr/bin/redis-server"

#: Upper bound for Redis to start answering or to exit; a guard against
#: hanging tests, not a performance expectation.
START_TIMEOUT = 10.0

#: How long one command may wait for its reply.
COMMAND_TIMEOUT = 5.0


class RedisError(Exception):
    """
    Redis answered a command with an error (C{-ERR ...}).
    """


def redisServer() -> str | None:
    """
    The path of C{redis-server}, or L{None} if it is not installed.
    """
    if os.access(REDIS_SERVER, os.X_OK):
        return REDIS_SERVER
    return shutil.which("redis-server")


def missing() -> str | None:
    """
    Why no Redis can be started here, or L{None} if one can.

    @return: a reason naming the package to install.
    """
    if redisServer() is None:
        return "redis-server is not installed (apt-get install redis-server)"
    return None


def encode(args: tuple[str | bytes | int, ...]) -> bytes:
    """
    One command in Redis's protocol (RESP).
    """
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, int):
            arg = str(arg)
        data = arg.encode("utf-8") if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def decode(reader) -> object:
    """
    Read one RESP2 reply from the binary file C{reader}: a C{str} for simple
    and bulk strings (UTF-8), an C{int}, L{None} or a C{list}.

    @raise RedisError: for an error reply.
    @raise ConnectionError: if Redis closed the connection first.
    """
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode("utf-8", "replace")
    if kind == b"-":
        raise RedisError(rest.decode("utf-8", "replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = reader.read(size + 2)
        if len(data) != size + 2:
            raise ConnectionError("Redis closed the connection")
        return data[:-2].decode("utf-8", "replace")
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [decode(reader) for _ in range(count)]
    raise ConnectionError(f"not a RESP2 reply: {line[:80]!r}")


class RedisServer:
    """
    A running C{redis-server}, on 127.0.0.1 and a UNIX socket.

    @ivar port: its TCP port (the same across L{restart}).
    @ivar password: what C{--requirepass} was given, or L{None}.
    @ivar socketPath: its UNIX socket.
    @ivar process: the server process (L{None} while it is down).
    """

    def __init__(self, password: str | None = None) -> None:
        self.password = password
        self.port = freePort()
        self._tmp = tempfile.TemporaryDirectory(prefix="netlab-redis-")
        self.socketPath = str(Path(self._tmp.name) / "redis.sock")
        self.logPath = Path(self._tmp.name) / "redis.log"
        self.process: subprocess.Popen | None = None

    @classmethod
    def start(cls, password: str | None = None) -> RedisServer:
        """
        Start a Redis and wait until it answers C{PING}.

        @param password: given to C{--requirepass} if not L{None}.
        @raise unittest.SkipTest: if C{redis-server} is not installed.
        """
        reason = missing()
        if reason is not None:
            raise unittest.SkipTest(reason)
        server = cls(password)
        try:
            server._run()
        except BaseException:
            server.close()
            raise
        return server

    @property
    def url(self) -> str:
        """
        The C{redis://} URL of its TCP port (with the password, if any).
        """
        secret = f":{self.password}@" if self.password is not None else ""
        return f"redis://{secret}127.0.0.1:{self.port}/0"

    @property
    def unixURL(self) -> str:
        """
        The C{unix://} URL of its UNIX socket (without the password).
        """
        return f"unix://{self.socketPath}"

    def _run(self) -> None:
        """
        Start the server process on L{port}, empty, and wait for it.
        """
        work = Path(self._tmp.name) / "data"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        args = [redisServer(), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(work)]
        args += ["--unixsocket", self.socketPath, "--unixsocketperm", "700"]
        args += ["--daemonize", "no", "--logfile", str(self.logPath)]
        if self.password is not None:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=work,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                if self.command("PING") == "PONG":
                    return
            except (OSError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server did not answer PING within {START_TIMEOUT:g} s")
            time.sleep(0.05)

    def command(self, *args: str | bytes | int) -> object:
        """
        Send one command on a fresh connection (authenticated if need be) and
        return its reply, as L{decode} does.

        @raise RedisError: if Redis answers with an error.
        @raise OSError: if it cannot be reached.
        """
        with socket.create_connection(("127.0.0.1", self.port), COMMAND_TIMEOUT) as sock:
            with sock.makefile("rb") as reader:
                if self.password is not None:
                    sock.sendall(encode(("AUTH", self.password)))
                    decode(reader)
                sock.sendall(encode(args))
                return decode(reader)

    def alive(self) -> bool:
        """
        Whether the server runs.
        """
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """
        Kill the server with SIGKILL (no goodbye to its clients' sockets is
        written by it: the kernel closes them) and wait until it is gone.
        """
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(START_TIMEOUT)
            self.process = None

    def pause(self) -> None:
        """
        Stop the server with SIGSTOP: its connections stay open, nothing
        answers (a hung Redis).
        """
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """
        Let a paused server go on (SIGCONT).
        """
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        """
        Start the server again on the same port, empty (killing it first if
        it still runs).
        """
        self.kill9()
        self._run()

    def stop(self) -> None:
        """
        Stop the server (SIGTERM; SIGKILL if it hangs).
        """
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(START_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None

    def log(self) -> str:
        """
        What the server logged.
        """
        try:
            return self.logPath.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """
        Kill the server, if it runs, and remove its directory.
        """
        try:
            self.kill9()
        finally:
            self._tmp.cleanup()

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
