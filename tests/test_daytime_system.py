"""
System tests: the real daemon serving Day/Time over real sockets, and the
daemon's own start and stop behaviour.
"""

import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.daemon import Daemon, freePort, recvAll, run, twistd

COURSE = Path(__file__).parent / "course"
CTIME = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$")


class DaytimeSystemTests(SynchronousTestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon.start(["--daytime", "{port}", "--daytime-udp", "{port}"])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def test_tcpBytes(self):
        """
        A TCP client gets ctime(), the farewell, a final newline, then EOF.
        """
        with self.daemon.connect("daytime") as sock:
            data = recvAll(sock)
        stamp, farewell, end = data.decode("ascii").split("\n")
        self.assertRegex(stamp, CTIME)
        self.assertEqual((farewell, end), ("Have a nice day!", ""))

    def test_courseClient(self):
        """
        The course's own blocking client prints the date and the farewell line.
        """
        result = subprocess.run(
            [
                sys.executable,
                str(COURSE / "daytime_client.py"),
                "127.0.0.1",
                str(self.daemon.port("daytime")),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertRegex(lines[0], CTIME)
        self.assertEqual(lines[1], "Have a nice day!")

    def test_nc(self):
        """
        C{nc 127.0.0.1 PORT} shows the date and the farewell on clean lines.
        """
        if shutil.which("nc") is None:
            self.skipTest("nc is not installed")
        # -d: do not read stdin (nc may quit at once on an empty stdin).
        result = subprocess.run(
            ["nc", "-d", "127.0.0.1", str(self.daemon.port("daytime"))],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        self.assertRegex(result.stdout, r"^.+ \d{4}\nHave a nice day!\n$")

    def test_telnet(self):
        """
        C{telnet 127.0.0.1 PORT} shows the date and the farewell, then telnet's
        own closing notice.
        """
        if shutil.which("telnet") is None:
            self.skipTest("telnet is not installed")
        # Keep telnet's stdin open until it exits: at end of input it may
        # quit before the server's text has arrived, as nc does.
        telnet = subprocess.Popen(
            ["telnet", "127.0.0.1", str(self.daemon.port("daytime"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        guard = threading.Timer(30, telnet.kill)  # a failure guard, not a wait
        guard.start()
        try:
            output = telnet.stdout.read()
            telnet.wait(30)
        finally:
            guard.cancel()
            telnet.kill()
            telnet.stdin.close()
            telnet.stdout.close()
        self.assertRegex(
            output,
            r"Escape character is '\^\]'\.\n.+ \d{4}\nHave a nice day!\n"
            r"Connection closed by foreign host\.\n$",
        )

    def test_udp(self):
        """
        Any datagram is answered with the same text, in one datagram.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(10)
            sock.sendto(b"what time is it?", ("127.0.0.1", self.daemon.port("daytime-udp")))
            data, _ = sock.recvfrom(1024)
        stamp, farewell, _ = data.decode("ascii").split("\n")
        self.assertRegex(stamp, CTIME)
        self.assertEqual(farewell, "Have a nice day!")

    def test_udpRateLimited(self):
        """
        A burst of datagrams from one source is answered only up to the limit.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            for _ in range(50):
                sock.sendto(b"x", ("127.0.0.1", self.daemon.port("daytime-udp")))
            # A TCP round trip after the burst: by the time it is answered, the
            # daemon has read every datagram sent before it.
            with self.daemon.connect("daytime") as tcp:
                recvAll(tcp)
            sock.settimeout(0.5)
            answers = 0
            try:
                while True:
                    sock.recvfrom(1024)
                    answers += 1
            except TimeoutError:
                pass
        self.assertGreaterEqual(answers, 1)
        self.assertLessEqual(answers, 10)

    def test_loggedWithPeer(self):
        with self.daemon.connect("daytime") as sock:
            host, port = sock.getsockname()
            recvAll(sock)
        deadline = time.monotonic() + 10
        while f"daytime: served 127.0.0.1:{port}" not in self.daemon.log():
            self.assertLess(time.monotonic(), deadline, self.daemon.log())
            time.sleep(0.05)
        self.assertIn(f"daytime: served 127.0.0.1:{port}", self.daemon.log())


class FormatSystemTests(SynchronousTestCase):
    def test_rfc3339(self):
        with Daemon.start(["--daytime", "{port}", "--daytime-format", "rfc3339"]) as daemon:
            with daemon.connect("daytime") as sock:
                data = recvAll(sock).decode("ascii")
        self.assertRegex(data, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nHave a nice day!\n$")


class LifecycleSystemTests(SynchronousTestCase):
    def assertStopsCleanly(self, sig):
        daemon = Daemon.start(["--daytime", "{port}"])
        self.addCleanup(daemon.close)
        port = daemon.port("daytime")
        with daemon.connect("daytime") as sock:
            recvAll(sock)
        started = time.monotonic()
        status = daemon.stop(sig)
        elapsed = time.monotonic() - started
        self.assertEqual(status, 0, daemon.output())
        self.assertLess(elapsed, 2.0)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        daemon.assertCleanLog()

    def test_sigterm(self):
        """
        SIGTERM stops the daemon within 2 s with exit status 0, ports closed.
        """
        self.assertStopsCleanly(signal.SIGTERM)

    def test_sigint(self):
        self.assertStopsCleanly(signal.SIGINT)

    def test_pluginListed(self):
        """
        C{twistd netlab --help} works from any directory.
        """
        result = subprocess.run(
            [twistd(), "netlab", "--help"], capture_output=True, text=True, cwd="/", timeout=60
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        for option in ("--daytime", "--chat", "--doctor", "--daytime-udp", "--max-per-peer"):
            self.assertIn(option, result.stdout)


class BadStartSystemTests(SynchronousTestCase):
    def assertOneLineFailure(self, options, *fragments):
        result = run(options)
        self.assertNotEqual(result.returncode, 0)
        output = result.stdout + result.stderr
        self.assertNotIn("Traceback", output)
        lines = [line for line in output.splitlines() if "netlab:" in line]
        self.assertEqual(len(lines), 1, output)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        return lines[0]

    def test_badValue(self):
        self.assertOneLineFailure(["--daytime", "banana"], "--daytime", "banana")

    def test_portInUse(self):
        """
        A port in use stops the daemon with one line, and the other services'
        ports are not left open.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
            busy.bind(("127.0.0.1", 0))
            taken = busy.getsockname()[1]
            free = freePort()
            self.assertOneLineFailure(
                [
                    "--daytime",
                    f"tcp:{free}:interface=127.0.0.1",
                    "--daytime-udp",
                    f"127.0.0.1:{taken}",
                ],
                "--daytime-udp",
                "in use",
            )
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", free), timeout=5).close()

    def test_unreadableKey(self):
        self.assertOneLineFailure(
            ["--daytime", "ssl:0:privateKey=/nonexistent/key.pem"], "--daytime", "key.pem"
        )
