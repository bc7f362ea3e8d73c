"""
Starting and stopping as a user expects (issue 10): a start failure in the
background is one line on the terminal, not a hang; every runner the README
names logs text; options compose; bare ports are dual stack.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netlab.endpoints import ipv6Listening
from tests.daemon import START_TIMEOUT, Daemon, freePort, recvAll, recvUntil, twistd, waitForPort

#: A start failure must be reported well within this (it hung forever before).
FAIL_WITHIN = 15.0


def twist() -> str:
    return str(Path(twistd()).with_name("twist"))


def runners(pidfile: str) -> dict[str, list[str]]:
    """
    The three ways the README runs the daemon, up to the plugin name.
    """
    return {
        "twistd (background)": [twistd(), f"--pidfile={pidfile}", "--logfile=twistd.log", "netlab"],
        "twistd -n": [twistd(), "-n", f"--pidfile={pidfile}", "netlab"],
        # Once twistd logs to a file, its sys.stderr is the log: the line must
        # still reach the terminal.
        "twistd -n --logfile": [
            twistd(),
            "-n",
            f"--pidfile={pidfile}",
            "--logfile=x.log",
            "netlab",
        ],
        "twist": [twist(), "--log-format=text", "netlab"],
    }


class BackgroundStartFailureTests(SynchronousTestCase):
    """
    In the background (twistd without -n), a port in use once left the terminal
    waiting forever, with the error only in twistd.log and a stale pidfile.
    """

    def assertSameFailure(self, options: list[str], *fragments: str) -> None:
        lines = {}
        with tempfile.TemporaryDirectory(prefix="netlab-test-") as tmp:
            pidfile = os.path.join(tmp, "netlab.pid")
            for runner, command in runners(pidfile).items():
                started = time.monotonic()
                try:
                    result = subprocess.run(
                        [*command, *options],
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        text=True,
                        cwd=tmp,
                        timeout=FAIL_WITHIN,
                    )
                except subprocess.TimeoutExpired:
                    self.fail(f"{runner}: still running after {FAIL_WITHIN} s (it must exit)")
                elapsed = time.monotonic() - started
                output = (result.stdout + result.stderr).strip()
                self.assertEqual(result.returncode, 1, f"{runner}: {output}")
                self.assertEqual(len(output.splitlines()), 1, f"{runner}: {output}")
                for fragment in fragments:
                    self.assertIn(fragment, output, runner)
                self.assertFalse(os.path.exists(pidfile), f"{runner} left its pidfile")
                lines[runner] = output
                print(f"START runner={runner!r} seconds={elapsed:.2f} line={output!r}")
        self.assertEqual(len(set(lines.values())), 1, lines)

    def test_portInUse(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            free = freePort()
            self.assertSameFailure(
                ["--daytime", f"tcp:{free}:interface=127.0.0.1", "--chat", f"tcp:{taken}"],
                f"netlab: --chat tcp:{taken}: cannot listen:",
                "in use",
            )

    def test_sameAddressTwice(self):
        """
        Two listeners on one address, which only fails once the first is open.
        """
        port = freePort()
        self.assertSameFailure(
            [
                "--chat",
                f"tcp:{port}:interface=127.0.0.1",
                "--chat-operator",
                f"tcp:{port}:interface=127.0.0.1",
            ],
            f"netlab: --chat-operator tcp:{port}:interface=127.0.0.1: cannot listen:",
        )

    def test_scriptThatIsNoFile(self):
        self.assertSameFailure(
            ["--doctor", "tcp:0", "--doctor-script", "/dev/zero"], "not a regular file"
        )

    def test_badKey(self):
        self.assertSameFailure(
            ["--chat", "ssl:0:privateKey=/nonexistent/key.pem"],
            "--chat: 'ssl:0:privateKey=/nonexistent/key.pem'",
        )

    def test_badScript(self):
        with tempfile.NamedTemporaryFile("w", suffix=".script") as script:
            script.write("(this is not a script\n")
            script.flush()
            self.assertSameFailure(
                ["--doctor", "tcp:0", "--doctor-script", script.name], "--doctor-script:"
            )


class RunnerTests(SynchronousTestCase):
    def test_twistLogsText(self):
        """
        C{twist --log-format=text}, as the README and the systemd unit run it,
        logs the same text lines as C{twistd -n} when its output is a pipe
        (plain C{twist} writes JSON there).
        """
        port = freePort()
        process = subprocess.Popen(
            [twist(), "--log-format=text", "netlab", "--daytime", f"tcp:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            waitForPort(port)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                self.assertIn(b"Have a nice day!", recvAll(client))
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=START_TIMEOUT)
        self.assertEqual(process.returncode, 0, output)
        self.assertIn("daytime: served 127.0.0.1:", output)
        self.assertIn("open-files limit", output)  # the same start-up path as twistd
        self.assertNotIn('{"log_', output)


class SignalTests(SynchronousTestCase):
    def stopWith(self, *signals: int) -> tuple[int, bytes, str]:
        with Daemon.start(["--doctor", "{port}"]) as daemon:
            with daemon.connect("doctor") as client:
                recvUntil(client, b"talk about?")
                for number in signals:
                    daemon.process.send_signal(number)
                told = recvAll(client)
                status = daemon.process.wait(START_TIMEOUT)
                return status, told, daemon.output()

    def test_hangupQuitUsr2StopCleanly(self):
        """
        SIGHUP (the terminal running twistd -n closed), SIGQUIT and SIGUSR2
        stop the daemon as SIGTERM does: clients told, status 0 (they killed
        it on the spot, silently).
        """
        for number in (signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR2):
            status, told, log = self.stopWith(number)
            self.assertEqual(status, 0, log)
            self.assertIn(b"server shutting down", told)
            self.assertIn(f"Received {number.name}, shutting down.", log)

    def test_secondSignalChangesNothing(self):
        """
        Two SIGTERMs (as `timeout` or a process group kill sends) still exit 0
        (it was 143).
        """
        status, told, log = self.stopWith(signal.SIGTERM, signal.SIGTERM, signal.SIGINT)
        self.assertEqual(status, 0, log)
        self.assertIn(b"server shutting down", told)


def dualStackFreePort() -> int:
    """
    A port free on every IPv6 and IPv4 address (a bare port binds them all;
    a port free on C{::1} alone may be some client's on 127.0.0.1).
    """
    with socket.socket(socket.AF_INET6) as probe:
        probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        probe.bind(("::", 0))
        return probe.getsockname()[1]


class ComposeTests(SynchronousTestCase):
    def test_udpAddsToTCP(self):
        """
        C{--daytime-udp} adds UDP Day/Time; the TCP services keep running.
        """
        with Daemon.start(["--daytime", "{port}", "--daytime-udp", "{port}"]) as daemon:
            with daemon.connect("daytime") as client:
                self.assertIn(b"Have a nice day!", recvAll(client))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.settimeout(10)
                udp.sendto(b"\n", ("127.0.0.1", daemon.port("daytime-udp")))
                self.assertIn(b"Have a nice day!", udp.recv(1024))

    def test_repeatedChatIsOneRoom(self):
        """
        C{--chat A --chat B} listens on both (once only B), and both are one room.
        """
        first, second = freePort(), freePort()
        local = "tcp:{}:interface=127.0.0.1"
        options = ["--chat", local.format(first), "--chat", local.format(second)]
        with Daemon.start(options) as daemon:
            daemon.waitForPort(first)
            daemon.waitForPort(second)
            with (
                socket.create_connection(("127.0.0.1", first), timeout=10) as ann,
                socket.create_connection(("127.0.0.1", second), timeout=10) as bob,
            ):
                bob.sendall(b"/nick bob\n")
                recvUntil(bob, b"now bob")
                ann.sendall(b"/nick ann\nhello from the first port\n")
                self.assertIn(b"hello from the first port", recvUntil(bob, b"first port"))

    def test_barePortIsDualStack(self):
        """
        A bare port number takes IPv6 and IPv4 clients (C{netlab daytime ::1}
        was refused); the log shows IPv4 peers as plain IPv4 addresses.
        """
        v6, _ = ipv6Listening()
        if not v6:
            self.skipTest("this host cannot listen on IPv6")
        port = dualStackFreePort()
        with Daemon.start(["--daytime", str(port)]) as daemon:
            daemon.waitForPort(port)
            for family, host in ((socket.AF_INET6, "::1"), (socket.AF_INET, "127.0.0.1")):
                with socket.socket(family) as client:
                    client.settimeout(10)
                    client.connect((host, port))
                    self.assertIn(b"Have a nice day!", recvAll(client))
            daemon.stop()
            log = daemon.log()
        self.assertIn("daytime: served [::1]:", log)
        self.assertIn("daytime: served 127.0.0.1:", log)
        self.assertNotIn("::ffff:", log)
