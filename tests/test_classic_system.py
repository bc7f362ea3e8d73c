"""
The classic services against the real daemon, judged by real clients no one
here wrote -- Debian's C{rdate}, C{nmap -sV}, C{nc} -- where they are installed
(C{.ci/run} installs them), else by the project's own socket checks; the UDP
reflection guards; and each lab fault, seen by the lecture's single-C{recv}
client and by a client that reads until it has whole lines.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netlab.simple import CHARGEN_CYCLE, EPOCH_1900, chargenLine, loadQuotes
from tests.daemon import Daemon, recvAll, recvUntil

COURSE = Path(__file__).resolve().parent / "course"

#: ctime() pads the day with a space, which nmap's daytime patterns reject on
#: days 1-9; this format is the same text with the day as two digits.
NMAP_DAYTIME = "%a %b %d %H:%M:%S %Y"

SERVICES = ["--echo", "{port}", "--discard", "{port}", "--chargen", "{port}", "--qotd", "{port}"]
SERVICES += ["--time", "{port}", "--daytime", "{port}"]
UDP = ["--echo-udp", "{port}", "--time-udp", "{port}", "--chargen-udp", "{port}"]
UDP += ["--qotd-udp", "{port}"]


def udpAsk(
    port: int, data: bytes = b"", source: tuple[str, int] = ("127.0.0.1", 0)
) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(source)
        udp.settimeout(0.5)
        udp.sendto(data, ("127.0.0.1", port))
        try:
            return udp.recv(65536)
        except TimeoutError:
            return None


class ClassicServicesTests(SynchronousTestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon.start([*SERVICES, *UDP, "--daytime-format", NMAP_DAYTIME])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def port(self, name):
        return self.daemon.port(name)

    def test_timeByRdate(self):
        """
        RFC 868 over TCP and UDP: Debian's rdate prints today's date.
        """
        rdate = shutil.which("rdate") or (
            "/usr/sbin/rdate" if os.path.exists("/usr/sbin/rdate") else None
        )
        for udp in (False, True):
            name = "time-udp" if udp else "time"
            if rdate is None:
                data = udpAsk(self.port(name)) if udp else recvAll(self.daemon.connect(name))
                served = int.from_bytes(data, "big") - EPOCH_1900
            else:
                command = [
                    rdate,
                    "-p",
                    *(["-u"] if udp else []),
                    "-o",
                    str(self.port(name)),
                    "127.0.0.1",
                ]
                output = subprocess.run(command, capture_output=True, text=True, timeout=30)
                self.assertEqual(output.returncode, 0, output.stderr)
                text = output.stdout.strip().split("\t")[-1]
                served = time.mktime(
                    time.strptime(text.replace(" UTC", ""), "%a %b %d %H:%M:%S %Y")
                )
                served -= time.timezone if "UTC" in text else 0
            self.assertLess(abs(served - time.time()), 5, name)
        if rdate is None:
            self.skipTest("rdate is not installed (checked with the project's own client)")

    def test_nmapNamesThem(self):
        """
        nmap -sV names echo, chargen, daytime and time.
        """
        nmap = shutil.which("nmap")
        if nmap is None:
            self.skipTest("nmap is not installed (apt-get install nmap)")
        names = {"echo": "echo", "chargen": "chargen", "daytime": "daytime", "time": "time"}
        ports = {str(self.port(name)): expected for name, expected in names.items()}
        output = subprocess.run(
            [nmap, "-sV", "-Pn", "-T4", "-p", ",".join(ports), "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
        found = {}
        for line in output.splitlines():
            port = line.split("/", 1)[0]
            if port in ports and "/tcp" in line:
                found[port] = line.split()[2]
        self.assertEqual(found, ports, output)

    def test_echoAndDiscard(self):
        data = bytes(range(256)) * 100
        with self.daemon.connect("echo") as client:
            client.sendall(data)
            got = b""
            while len(got) < len(data):
                got += client.recv(65536)
            self.assertEqual(got, data)
        with self.daemon.connect("discard") as client:
            client.sendall(data)
            client.shutdown(socket.SHUT_WR)
            self.assertEqual(recvAll(client), b"")

    def test_qotdByNc(self):
        """
        One quote of those shipped, at most 512 characters, then the server closes.
        """
        nc = shutil.which("nc")
        if nc is None:
            data = recvAll(self.daemon.connect("qotd"))
        else:
            command = [nc, "-d", "127.0.0.1", str(self.port("qotd"))]
            data = subprocess.run(command, capture_output=True, timeout=30).stdout
        self.assertIn(data, loadQuotes())
        self.assertLessEqual(len(data), 512)

    def test_chargenPatternAndBackPressure(self):
        """
        The rotating lines, in order; a client that stops reading costs the
        daemon no memory (a pull producer: nothing is made until it is sent).
        """
        with self.daemon.connect("chargen") as client:
            data = b""
            while len(data) < 3 * len(CHARGEN_CYCLE):
                data += client.recv(65536)
            lines = data.split(b"\r\n")[: 3 * 95]
            self.assertEqual(
                [line + b"\r\n" for line in lines], [chargenLine(n) for n in range(3 * 95)]
            )
            before = self.daemon.rss()
            time.sleep(1.0)  # the client reads nothing; the socket buffers fill up
            self.assertLess(self.daemon.rss() - before, 2 << 20)

    def test_udpServices(self):
        self.assertEqual(udpAsk(self.port("echo-udp"), b"ping"), b"ping")
        self.assertEqual(len(udpAsk(self.port("time-udp"))), 4)
        chargen = udpAsk(self.port("chargen-udp"))
        self.assertEqual(chargen, CHARGEN_CYCLE[: len(chargen)])
        self.assertIn(udpAsk(self.port("qotd-udp")), loadQuotes())

    def test_udpReflectionGuards(self):
        """
        No reply to a source port below 1024; at most the burst per source,
        over all services together.
        """
        if os.geteuid() == 0:
            self.assertIsNone(udpAsk(self.port("echo-udp"), b"x", ("127.0.0.1", 1019)))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.3", 0))
            udp.settimeout(0.5)
            for name in ("echo-udp", "time-udp", "qotd-udp") * 4:
                udp.sendto(b"x", ("127.0.0.1", self.port(name)))
            replies = 0
            try:
                while True:
                    udp.recv(65536)
                    replies += 1
            except TimeoutError:
                pass
        self.assertEqual(replies, 5)  # --udp-rate 2/s,5, one budget for the source


class LabFaultTests(SynchronousTestCase):
    """
    Each fault breaks the lecture's one-recv Doctor client and leaves a client
    that reads whole lines with exactly the replies it gets without the fault.
    """

    MESSAGES = ["I am unhappy", "my mother hates me", "you are a computer"]

    def withLab(self, fault: str) -> Daemon:
        return Daemon.start(["--doctor", "{port}", "--lab", f"doctor:{fault}"])

    def test_correctClientUnaffected(self):
        """
        The README's fixed client (tests/course/doctor_lines.py) prints exactly
        the same conversation with every fault as without.
        """
        with Daemon.start(["--doctor", "{port}"]) as plain:
            expected = self.course(plain, "doctor_lines.py", self.MESSAGES)
        self.assertIn("I am sorry that you feel unhappy.", expected)
        for fault in ("split=3", "delay=150", "coalesce=300", "split=7,delay=50,coalesce=200"):
            with self.withLab(fault) as daemon:
                printed = self.course(daemon, "doctor_lines.py", self.MESSAGES)
            notice, _, rest = printed.partition("\n")
            self.assertTrue(notice.startswith("* lab mode: replies arrive"), printed)
            self.assertEqual(rest, expected, fault)

    def test_splitBreaksOneRecv(self):
        """
        split=5: the lecture client's single recv returns a fragment, and it is
        announced in the greeting.
        """
        with self.withLab("split=5") as daemon:
            result = self.course(daemon, "doctor_client.py", ["I am unhappy"])
            with daemon.connect("doctor") as client:
                greeting = recvUntil(client, b"talk about?")
        self.assertTrue(result.startswith("* lab\n"), result)  # its first recv: 5 bytes
        self.assertTrue(greeting.startswith(b"* lab mode: replies arrive in pieces of 5 bytes\n"))

    def test_delayIsLate(self):
        with self.withLab("delay=400") as daemon, daemon.connect("doctor") as client:
            recvUntil(client, b"talk about?")
            started = time.monotonic()
            client.sendall(b"I am unhappy\n")
            recvUntil(client, b"unhappy")
            self.assertGreaterEqual(time.monotonic() - started, 0.4)

    def test_coalesceMerges(self):
        """
        coalesce: the replies to two messages arrive in one recv.
        """
        with self.withLab("coalesce=600") as daemon, daemon.connect("doctor") as client:
            recvUntil(client, b"talk about?")
            client.sendall(b"I am unhappy\n")
            time.sleep(0.1)
            client.sendall(b"my mother hates me\n")
            client.settimeout(5)
            data = client.recv(4096)
        self.assertIn(b"unhappy", data)
        self.assertIn(b"family", data)  # the reply to the second message

    def course(self, daemon: Daemon, program: str, lines: list[str]) -> str:
        """
        What one of the course's programs prints, given C{lines} to type.
        """
        result = subprocess.run(
            [sys.executable, str(COURSE / program), "127.0.0.1", str(daemon.port("doctor"))],
            input="\n".join(lines) + "\n\n",
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout
