"""
Tests for L{netlab.doctor.service}: the Doctor over a (fake) connection.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from twisted.internet.abstract import FileDescriptor
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import Doctor, parseScript
from netlab.doctor.service import READ_SIZE, DoctorFactory, DoctorProtocol
from netlab.guard import GuardFactory
from netlab.tap import Options, serviceFactory
from netlab.test.test_doctor_engine import TRAILER

#: A tiny script, so the expected replies are obvious.
SCRIPT = b"""
(HELLO PATIENT)
START
(SAD ((0 SAD 0) (WHY SAD)))
(MY = YOUR ((0 YOUR 0) (YOUR 3)))
(MEMORY MY (0 YOUR 0 = ONE 3) (0 YOUR 0 = TWO 3) (0 YOUR 0 = THREE 3) (0 YOUR 0 = FOUR 3))
(NONE ((0) (GO ON)))
()
"""


class DoctorProtocolTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.factory = DoctorFactory(self.clock, parseScript(SCRIPT), idleTimeout=60)

    def connect(self) -> tuple[DoctorProtocol, StringTransport]:
        """
        Connect a new client to the factory.
        """
        protocol = self.factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def exchange(self, protocol: DoctorProtocol, transport: StringTransport, data: bytes) -> bytes:
        """
        Send C{data} from the client and return what the server wrote back.
        """
        transport.clear()
        protocol.dataReceived(data)
        return transport.value()

    def test_greeting(self) -> None:
        """
        The greeting goes out before the client has shown what it is: with no
        terminator, so that the course's client prints it as the lecture does.
        """
        _, transport = self.connect()
        self.assertEqual(transport.value(), b"Hello patient.")

    def test_greetingEndedForLineClient(self) -> None:
        """
        A line client is sent the greeting's line end before its first reply,
        so the greeting and the reply never run together.
        """
        protocol, transport = self.connect()
        protocol.dataReceived(b"so sad\r\n")
        self.assertEqual(transport.value(), b"Hello patient.\r\nWhy sad?\r\n")

    def test_onePerLine(self) -> None:
        """
        Every line gets exactly one reply, ended as the client ends its lines.
        """
        protocol, transport = self.connect()
        self.assertEqual(
            self.exchange(protocol, transport, b"i am sad\nnothing\n"), b"\nWhy sad?\nGo on.\n"
        )
        self.assertEqual(self.exchange(protocol, transport, b"so sad\r\n"), b"Why sad?\r\n")

    def test_bareMessage(self) -> None:
        """
        A course-style client's bare message is answered after the bare delay,
        with no terminator.
        """
        protocol, transport = self.connect()
        self.assertEqual(self.exchange(protocol, transport, b"I am sad"), b"")
        self.clock.advance(self.factory.bareDelay)
        self.assertEqual(transport.value(), b"Why sad?")

    def test_blankIgnored(self) -> None:
        """
        Blank lines get no reply (only the greeting's line end).
        """
        protocol, transport = self.connect()
        self.assertEqual(self.exchange(protocol, transport, b"\n  \r\n\x1b[2J\n"), b"\n")

    def test_goodbyes(self) -> None:
        for word in (b"bye", b"Quit", b"GOODBYE!", b"bye."):
            protocol, transport = self.connect()
            self.assertEqual(
                self.exchange(protocol, transport, word + b"\n"), b"\nHave a nice day!\n"
            )
            self.assertTrue(transport.disconnecting)

    def test_ownState(self) -> None:
        """
        Each connection has its own Doctor: one patient's memory is not another's.
        """
        first, firstTransport = self.connect()
        second, secondTransport = self.connect()
        self.exchange(first, firstTransport, b"my dog\n")
        self.assertIsNot(first.doctor, second.doctor)
        self.assertIs(first.doctor.script, second.doctor.script)

    def test_lineTooLong(self) -> None:
        """
        An over-long line gets one error, no reply; the next line is answered.
        """
        protocol, transport = self.connect()
        reply = self.exchange(protocol, transport, b"x" * 5000 + b"\nsad\n")
        self.assertEqual(reply, b"\nERR line too long (max 4096 bytes)\nWhy sad?\n")

    def test_idleTimeout(self) -> None:
        protocol, transport = self.connect()
        transport.clear()
        self.clock.advance(59)
        protocol.dataReceived(b"hello\n")
        self.clock.advance(59)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.value().endswith(b"ERR idle timeout\n"))
        self.assertTrue(transport.disconnecting)

    def test_shutdown(self) -> None:
        protocol, transport = self.connect()
        transport.clear()
        protocol.serverShutdown()
        self.assertEqual(transport.value(), b"\n* server shutting down\n")
        self.assertTrue(transport.disconnecting)

    def test_defaultScript(self) -> None:
        """
        Without a script, the project's default script is used.
        """
        factory = DoctorFactory(self.clock)
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.assertEqual(transport.value().decode(), Doctor().greeting())


class ScriptLoopLogTests(SynchronousTestCase):
    """
    A peer can make the script loop as often as it likes: the log gets a line
    a minute at most, with a short excerpt (it once logged every whole input).
    """

    def test_throttledExcerpt(self) -> None:
        seen: list[dict] = []
        globalLogPublisher.addObserver(seen.append)
        self.addCleanup(globalLogPublisher.removeObserver, seen.append)
        clock = Clock()
        looping = "(HELLO)\nSTART\n(A ((0) (=B)))\n(B ((0) (=A)))\n" + TRAILER
        factory = DoctorFactory(clock, parseScript(looping), rate=None)
        protocol = factory.buildProtocol(None)
        protocol.makeConnection(StringTransport())
        for _ in range(30):
            for _ in range(100):
                protocol.dataReceived(b"a" + b" a" * 1000 + b"\n")
            clock.advance(10)
        lines = [e for e in seen if "looped" in e.get("log_format", "")]
        self.assertEqual([e["count"] for e in lines], [1, 600, 600, 600, 600])
        self.assertTrue(all(len(e["excerpt"]) <= 63 for e in lines))


class FromOptionsTests(SynchronousTestCase):
    """
    The daemon builds the factory from its options (L{netlab.tap} is the only
    module that knows their names).
    """

    def test_options(self) -> None:
        """
        The script and the framing limits reach the factory.
        """
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "tiny.script")
        with open(path, "wb") as script:
            script.write(SCRIPT)
        config = Options()
        config.parseOptions(
            ["--doctor", "1", "--doctor-script", path, "--max-line", "100"]
            + ["--bare-delay", "0.5", "--idle-timeout", "90"]
        )
        factory = serviceFactory("doctor", config, Clock())
        self.assertIsInstance(factory, DoctorFactory)
        self.assertEqual(factory.script.greetingText(), "HELLO PATIENT")
        self.assertEqual((factory.maxLineLength, factory.bareDelay), (100, 0.5))
        self.assertEqual(factory.idleTimeout, 90)


class ReadSizeTests(SynchronousTestCase):
    """
    A Doctor connection reads at most L{READ_SIZE} bytes at a time, through
    the guard's wrapper too, so what it holds while its lines wait is bounded.
    """

    def test_throughTheGuard(self) -> None:
        clock = Clock()
        guarded = GuardFactory(DoctorFactory(clock), "doctor", clock)
        address = IPv4Address("TCP", "127.0.0.1", 40000)
        protocol = guarded.buildProtocol(address)
        transport = FileDescriptor(clock)
        transport.getPeer = lambda: address
        transport.getHost = lambda: address
        protocol.makeConnection(transport)
        self.assertEqual(transport.bufferSize, READ_SIZE)


class AddressRateTests(SynchronousTestCase):
    """
    One address's connections share one pace (C{--doctor-address-rate}).
    """

    def test_shared(self) -> None:
        from twisted.internet.address import IPv4Address
        from twisted.internet.task import Clock

        from netlab.doctor.service import DoctorFactory
        from netlab.ratelimit import Rate
        from netlab.testing import ClientTransport

        clock = Clock()
        factory = DoctorFactory(clock, rate=None, addressRate=Rate(5.0, 10))
        transports = []
        for port in range(4):
            address = IPv4Address("TCP", "127.0.0.7", 5000 + port)
            protocol = factory.buildProtocol(address)
            transport = ClientTransport(peerAddress=address)
            protocol.makeConnection(transport)
            transport.read()
            protocol.dataReceived(b"I am sad\n" * 10)
            transports.append(transport)
        def replies() -> int:
            lines = b"".join(t.read() for t in transports).splitlines()
            return len([line for line in lines if line and not line.startswith(b"ERR")])

        answered = replies()
        self.assertEqual(answered, 10)  # the burst, over all four connections
        clock.advance(1)
        answered += replies()
        self.assertLess(answered, 10 + 5 + 2)
