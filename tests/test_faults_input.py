"""
Fault suite, bad input (issue 6, scenarios 1, 2 and 6) against the real daemon:
hostile bytes, a 10 MiB line, 100,000 lines in one burst (paced, and with the
pace off), peers that vanish mid-line or half-close.

Attack traffic comes from 127.0.0.2 and up; after each scenario the daemon must
pass the health check of L{tests.faults} (alive, every service serves a fresh
client from 127.0.0.1, clean log, bounded memory).
"""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import Doctor
from netlab.test.nasty import CONTROLS, TELNET_REPLY, nastyPayloads
from tests.daemon import Daemon, recvAll
from tests.faults import (
    CHAT_WELCOME,
    MIB,
    NO_CHAT_LIMITS,
    Pump,
    Scenario,
    attackConnect,
    expectedDoctor,
    lineClient,
    recvLines,
    recvUntilLine,
    reset,
    services,
    waitForProbes,
)

#: The over-long message of scenario 2.
HUGE = 10 * MIB

#: The burst of scenario 2.
BURST = 100_000

#: How many hostile payloads scenario 1 sends over real sockets (the protocol-
#: level test tries thousands; this checks the same holds end to end).
SAMPLE = 60

TOO_LONG = b"ERR line too long (max 4096 bytes)"


def chatLines(data: bytes) -> list[bytes]:
    return [line.rstrip(b"\r") for line in data.split(b"\n")[:-1]]


def joinChat(daemon: Daemon, index: int) -> tuple[socket.socket, bytes]:
    """
    A chat client from attack address C{index}, past its welcome; and its name.
    """
    sock = lineClient(attackConnect(daemon, "chat", index))
    welcome = recvUntilLine(sock, b"* You are ")
    match = re.search(rb"\* You are ([^.\s]+)\.", welcome)
    assert CHAT_WELCOME in welcome and match, welcome
    return sock, match.group(1)


class HostileBytesTests(SynchronousTestCase):
    """
    Scenario 1 over real sockets: a sample of the hostile payloads that
    C{netlab/test/test_fuzz.py} feeds the protocols.
    """

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon.start(services(*NO_CHAT_LIMITS))
        waitForProbes(cls.daemon)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def test_doctor(self):
        """
        Each payload, on a connection of its own that then half-closes, gets the
        greeting and replies in valid UTF-8 (and, if it negotiated telnet
        options, the answers), and the end of the stream.
        """
        with Scenario(self, 1, "hostile-bytes-doctor", self.daemon):
            for index, payload in enumerate(nastyPayloads(SAMPLE)):
                with attackConnect(self.daemon, "doctor", index % 20) as sock:
                    sock.sendall(payload + b"\n")
                    sock.shutdown(socket.SHUT_WR)
                    data = recvAll(sock)
                text = TELNET_REPLY.sub(b"", data).decode("utf-8")  # raises if invalid
                self.assertTrue(text.startswith(Doctor().greeting()), repr(text))

    def test_chat(self):
        """
        Everything one client sends reaches another only as clean lines: valid
        UTF-8, no control characters or escape sequences.
        """
        with Scenario(self, 1, "hostile-bytes-chat", self.daemon):
            observer, _ = joinChat(self.daemon, 0)
            attacker, name = joinChat(self.daemon, 1)
            with observer, attacker:
                payload = b"\n".join(nastyPayloads(SAMPLE)) + b"\n/nick fuzz-end\nthe end\n"
                attacker.sendall(payload)
                data = recvUntilLine(observer, b"<fuzz-end> the end")
            text = data.decode("utf-8")
            self.assertIn("<fuzz-end> the end", text)
            for line in re.split(r"\r?\n", text)[:-1]:  # (the welcome's lines end in \n)
                self.assertIsNone(CONTROLS.search(line), repr(line))
            self.assertGreater(text.count(f"<{name.decode()}> "), SAMPLE // 2)


class LongLineTests(SynchronousTestCase):
    """
    Scenario 2, first half: a 10 MiB message with no newline.
    """

    def setUp(self):
        self.daemon = Daemon.start(services())
        self.addCleanup(self.daemon.close)
        waitForProbes(self.daemon)

    def test_doctor(self):
        """
        A Doctor client sending 10 MiB without a newline (in line mode, and as a
        bare-message client) is told the line is too long, once; the rest of it
        is discarded, and the connection goes on as before.
        """
        with Scenario(self, 2, "10MiB-doctor", self.daemon):
            for index, before in enumerate(([], ["hello"])):
                with attackConnect(self.daemon, "doctor", index) as sock:
                    sock.sendall(b"".join(m.encode() + b"\n" for m in before))
                    sock.sendall(b"A" * HUGE)
                    sock.sendall(b"\nI am sad\n")
                    sock.shutdown(socket.SHUT_WR)
                    lines = recvLines(sock, 10)
                greeting, *replies = expectedDoctor([*before, "I am sad"])
                self.assertEqual(lines, [greeting, *replies[:-1], TOO_LONG, replies[-1]])

    def test_chat(self):
        """
        A chat client sending 10 MiB without a newline is told the line is too
        long; nothing of it reaches the room; its next message does.
        """
        with Scenario(self, 2, "10MiB-chat", self.daemon):
            observer, _ = joinChat(self.daemon, 0)
            attacker, name = joinChat(self.daemon, 1)
            with observer, attacker:
                attacker.sendall(b"A" * HUGE + b"\nstill here\n")
                said = recvUntilLine(observer, b"> still here")
                attacker.shutdown(socket.SHUT_WR)
                told = recvAll(attacker)
            self.assertIn(b"<" + name + b"> still here", said)
            self.assertNotIn(b"AAAA", said)
            self.assertEqual(chatLines(told).count(TOO_LONG), 1, told[-2000:])


class BurstTests(SynchronousTestCase):
    """
    Scenario 2, second half: 100,000 short lines in one burst, with the pace
    switched off (C{--doctor-rate 0 --doctor-address-rate 0}, no chat
    limits): every line is handled, in order, as fast as the client reads
    (back-pressure, not buffering).
    """

    def setUp(self):
        self.daemon = Daemon.start(
            services("--doctor-rate", "0", "--doctor-address-rate", "0", *NO_CHAT_LIMITS)
        )
        self.addCleanup(self.daemon.close)
        waitForProbes(self.daemon)

    def test_doctor(self):
        """
        Every one of 100,000 lines is answered, in order, while the client
        sends and reads at once (whenever it falls behind reading, the daemon
        stops reading it: back-pressure, not buffering).
        """
        messages = ["I am sad", "my mother hates me", "you are like my father", "hello"]
        burst = [messages[i % len(messages)] for i in range(BURST)]
        with Scenario(self, 2, "burst-doctor", self.daemon) as scenario:
            sock = attackConnect(self.daemon, "doctor")
            with sock:
                pump = Pump({sock: "".join(m + "\n" for m in burst).encode()}, [sock])
                pump.run(
                    lambda p: p.received[sock].count(b"\n") > BURST or sock in p.closed,
                    "all the replies",
                )
            scenario.note(stalls=pump.stalls)
        self.assertEqual(pump.lines(sock), expectedDoctor(burst))

    def test_chat(self):
        """
        100,000 lines from one chat client all reach the others, in order.
        """
        with Scenario(self, 2, "burst-chat", self.daemon) as scenario:
            observer, _ = joinChat(self.daemon, 0)
            attacker, name = joinChat(self.daemon, 1)
            prefix = b"<" + name + b"> m"
            with observer, attacker:
                payload = "".join(f"m{i}\n" for i in range(BURST)).encode()
                pump = Pump({attacker: payload}, [attacker, observer])
                pump.run(lambda p: p.received[observer].count(prefix) >= BURST, "every line")
            scenario.note(stalls=pump.stalls)
        relayed = [
            int(line[len(prefix) :]) for line in pump.lines(observer) if line.startswith(prefix)
        ]
        self.assertEqual(relayed, list(range(BURST)))


def cpuSeconds(pid: int) -> float:
    """
    The CPU time (user and system) process C{pid} has used so far.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PacedBurstTests(SynchronousTestCase):
    """
    Scenario 2 with the default pace (L{netlab.pacing}): a 100,000-line burst
    gets its burst handled at once and the rest at the rate -- in order,
    nothing lost, the client told once -- and costs the daemon almost nothing
    while it lasts, however much the client sends.
    """

    #: How long the flood goes on.
    SECONDS = 4.0

    def setUp(self):
        self.daemon = Daemon.start(services())
        self.addCleanup(self.daemon.close)
        waitForProbes(self.daemon)

    def flood(self, scenario: Scenario, sock: socket.socket, readers: list[socket.socket]) -> Pump:
        """
        Send the burst on C{sock} for L{SECONDS}, reading C{readers}; note the
        daemon's CPU time meanwhile and check it stayed small.
        """
        payload = "".join(f"m{i}\n" for i in range(BURST)).encode()
        pid = self.daemon.process.pid
        pump = Pump({sock: payload}, readers)
        cpu, start = cpuSeconds(pid), time.monotonic()
        pump.run(lambda p: time.monotonic() - start > self.SECONDS, "the end", poll=0.1)
        cpu = cpuSeconds(pid) - cpu
        scenario.note(daemonCpuSeconds=round(cpu, 2))
        # Unpaced, the same burst costs the daemon seconds of CPU.
        self.assertLess(cpu, self.SECONDS / 4)
        return pump

    def assertPaced(self, handled: list[int], burst: int, rate: float) -> None:
        """
        The lines handled are the first ones, in order: the burst and the rate's worth.
        """
        self.assertEqual(handled, list(range(len(handled))))
        self.assertGreaterEqual(len(handled), burst + rate * (self.SECONDS - 1.5))
        self.assertLessEqual(len(handled), burst + rate * (self.SECONDS + 1.5))

    def test_doctor(self):
        """
        The Doctor (C{--doctor-rate 10/s,50}) answers the burst of 50, then
        ten a second.
        """
        with Scenario(self, 2, "paced-burst-doctor", self.daemon) as scenario:
            sock = lineClient(attackConnect(self.daemon, "doctor"))
            with sock:
                pump = self.flood(scenario, sock, [sock])
        lines = pump.lines(sock)
        notices = [line for line in lines if line.startswith(b"ERR slow down")]
        self.assertEqual(len(notices), 1)
        answers = [line for line in lines[1:] if not line.startswith(b"ERR slow down")]
        handled = list(range(len(answers)))  # one answer per line, in order
        self.assertPaced(handled, 50, 10)

    def test_chat(self):
        """
        The room (C{--chat-rate 5/s,20}) gets the burst of 20, then five a
        second, in order; the flooder is told once.
        """
        with Scenario(self, 2, "paced-burst-chat", self.daemon) as scenario:
            observer, _ = joinChat(self.daemon, 0)
            attacker, name = joinChat(self.daemon, 1)
            prefix = b"<" + name + b"> m"
            with observer, attacker:
                pump = self.flood(scenario, attacker, [attacker, observer])
        relayed = [
            int(line[len(prefix) :]) for line in pump.lines(observer) if line.startswith(prefix)
        ]
        self.assertPaced(relayed, 20, 5)
        told = pump.lines(attacker)
        self.assertEqual(sum(line.startswith(b"ERR slow down") for line in told), 1, told)


class VanishingPeerTests(SynchronousTestCase):
    """
    Scenario 6: peers that vanish mid-line, and peers that half-close.
    """

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon.start(services())
        waitForProbes(cls.daemon)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def test_vanishMidLine(self):
        """
        Fifty clients per service stop in the middle of a line, half of them
        with a reset, half with a plain close; the daemon carries on.
        """
        with Scenario(self, 6, "vanish-mid-line", self.daemon):
            for service in ("doctor", "chat"):
                for index in range(50):
                    sock = lineClient(attackConnect(self.daemon, service, index))
                    recvLines(sock, 1)
                    sock.sendall(b"I am fine\nbut my moth")
                    reset(sock) if index % 2 else sock.close()

    def test_halfCloseDoctor(self):
        """
        A Doctor client that shuts down its sending side after its last line
        (with or without the newline) still gets every reply, then the end.
        """
        with Scenario(self, 6, "half-close-doctor", self.daemon):
            for ending in (b"\n", b"\r\n", b""):
                with attackConnect(self.daemon, "doctor") as sock:
                    sock.sendall(b"I am sad" + ending)
                    sock.shutdown(socket.SHUT_WR)
                    lines = recvAll(sock).replace(b"\r\n", b"\n").split(b"\n")
                self.assertEqual(lines[:2], expectedDoctor(["I am sad"]), ending)

    def test_halfCloseDaytime(self):
        """
        A Day/Time client that half-closes at once still gets the time.
        """
        with Scenario(self, 6, "half-close-daytime", self.daemon):
            with attackConnect(self.daemon, "daytime") as sock:
                sock.shutdown(socket.SHUT_WR)
                self.assertIn(b"Have a nice day!", recvAll(sock))

    def test_halfCloseChat(self):
        """
        A chat client that half-closes after a line: the room gets the line, then
        the client leaves, and its connection ends cleanly.
        """
        with Scenario(self, 6, "half-close-chat", self.daemon):
            observer, _ = joinChat(self.daemon, 0)
            with observer:
                sender, name = joinChat(self.daemon, 1)
                with sender:
                    sender.sendall(b"last words")
                    sender.shutdown(socket.SHUT_WR)
                    recvAll(sender)  # ends: the daemon closed its side
                left = b"* " + name + b" has left"
                said = recvUntilLine(observer, left)
            self.assertIn(b"<" + name + b"> last words", said)
            self.assertLess(said.index(b"> last words"), said.index(left))
