"""
Starting and stopping as a user expects (issue 10): a start failure in the
background is one line on the terminal, not a hang; every runner the README
names logs text; options compose; bare ports are dual stack.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netlab.tap import ipv6Listening
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
        self.assertNotIn('{"log_', output)


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
            with socket.create_connection(("127.0.0.1", first), timeout=10) as ann, \
                    socket.create_connection(("127.0.0.1", second), timeout=10) as bob:
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
        port = freePort(host="::1")
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
