"""
Tests for L{netlab.lab}: the lab faults change how output is cut and timed,
never what is sent; what they hold is bounded.
"""

from functools import partial

from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netlab.accesslog import FLUSH_DELAY
from netlab.guard import GuardFactory
from netlab.lab import HOLD_LIMIT, PIECE_GAP, LabFaults, LabProtocol, parseLab
from netlab.simple import CHARGEN_CYCLE, PROTOCOLS, SimpleFactory


class RecordingTransport(StringTransport):
    """
    A StringTransport that keeps each write apart, as segments would be.
    """

    def __init__(self):
        super().__init__(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        self.writes = []
        self.noDelay = False

    def write(self, data):
        self.writes.append(data)
        super().write(data)

    def setTcpNoDelay(self, enabled):
        self.noDelay = enabled


class Writer(Protocol):
    """
    A service that writes what the test tells it to.
    """


def connect(faults, factory=None, announce=False):
    clock = Clock()
    factory = factory or Factory.forProtocol(Writer)
    guard = GuardFactory(
        factory, "test", clock, protocol=partial(LabProtocol, faults=faults, announce=announce)
    )
    wrapper = guard.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = RecordingTransport()
    wrapper.makeConnection(transport)
    return clock, wrapper, transport


class SplitTests(SynchronousTestCase):
    def test_piecesApart(self):
        """
        split=5: pieces of at most 5 bytes, PIECE_GAP apart, each its own
        segment (TCP_NODELAY), together exactly what was written.
        """
        clock, wrapper, transport = connect(LabFaults(split=5))
        self.assertTrue(transport.noDelay)
        wrapper.wrappedProtocol.transport.write(b"Hello, world!\n")
        self.assertEqual(transport.writes, [b"Hello"])
        clock.advance(PIECE_GAP)
        self.assertEqual(transport.writes, [b"Hello", b", wor"])
        clock.advance(PIECE_GAP)
        self.assertEqual(transport.writes, [b"Hello", b", wor", b"ld!\n"])
        self.assertEqual(transport.value(), b"Hello, world!\n")

    def test_closeWaitsForThePieces(self):
        clock, wrapper, transport = connect(LabFaults(split=1))
        writer = wrapper.wrappedProtocol
        writer.transport.write(b"abc")
        writer.transport.loseConnection()
        self.assertFalse(transport.disconnecting)
        self.assertTrue(writer.transport.disconnecting)
        clock.advance(PIECE_GAP)
        clock.advance(PIECE_GAP)
        self.assertEqual(transport.value(), b"abc")
        self.assertTrue(transport.disconnecting)


class DelayTests(SynchronousTestCase):
    def test_late(self):
        clock, wrapper, transport = connect(LabFaults(delay=0.3))
        wrapper.wrappedProtocol.transport.write(b"reply one\n")
        clock.advance(0.1)
        wrapper.wrappedProtocol.transport.write(b"reply two\n")
        clock.advance(0.19)
        self.assertEqual(transport.value(), b"")
        clock.advance(0.01)
        self.assertEqual(transport.value(), b"reply one\n")
        clock.advance(0.1)
        self.assertEqual(transport.writes, [b"reply one\n", b"reply two\n"])


class CoalesceTests(SynchronousTestCase):
    def test_heldAndSentTogether(self):
        """
        coalesce=500: writes within 500 ms of the first go out as one.
        """
        clock, wrapper, transport = connect(LabFaults(coalesce=0.5))
        writer = wrapper.wrappedProtocol
        writer.transport.write(b"first\n")
        clock.advance(0.2)
        writer.transport.write(b"second\n")
        clock.advance(0.29)
        self.assertEqual(transport.writes, [])
        clock.advance(0.01)
        self.assertEqual(transport.writes, [b"first\nsecond\n"])
        writer.transport.write(b"third\n")
        clock.advance(0.5)
        self.assertEqual(transport.writes, [b"first\nsecond\n", b"third\n"])


class AnnounceTests(SynchronousTestCase):
    def test_greetingAnnounces(self):
        clock, wrapper, transport = connect(LabFaults(delay=0.1), announce=True)
        wrapper.wrappedProtocol.transport.write(b"Hello.\r\n")
        wrapper.wrappedProtocol.transport.write(b"Reply.\r\n")
        clock.advance(0.1)
        self.assertEqual(
            transport.value(), b"* lab mode: replies arrive 100 ms late\r\nHello.\r\nReply.\r\n"
        )


class BoundTests(SynchronousTestCase):
    def test_streamingProducerPausedPastTheLimit(self):
        """
        A service that keeps writing (a busy chat room) is paused once the lab
        holds HOLD_LIMIT bytes, and resumed when they have gone out.
        """
        clock, wrapper, transport = connect(LabFaults(delay=1.0))
        writer = wrapper.wrappedProtocol

        class Producer:
            state = "producing"

            def pauseProducing(self):
                self.state = "paused"

            def resumeProducing(self):
                self.state = "producing"

            def stopProducing(self):
                self.state = "stopped"

        producer = Producer()
        writer.transport.registerProducer(producer, True)
        writer.transport.write(b"x" * HOLD_LIMIT)
        self.assertEqual(producer.state, "producing")
        writer.transport.write(b"x")
        self.assertEqual(producer.state, "paused")
        clock.advance(1.0)
        self.assertEqual(producer.state, "producing")
        self.assertEqual(len(transport.value()), HOLD_LIMIT + 1)

    def test_heldBytesCostNoMoreThanThemselves(self):
        """
        split=1 keeps whole writes and cuts them as they go (a queue entry per
        byte once cost ~90 bytes of memory per byte held).
        """
        clock, wrapper, transport = connect(LabFaults(split=1))
        wrapper.wrappedProtocol.transport.write(b"x" * 50000)
        wrapper.wrappedProtocol.transport.write(b"y" * 50000)
        self.assertEqual(len(wrapper._queue), 2)
        for _ in range(3):
            clock.advance(PIECE_GAP)
        self.assertEqual(transport.writes, [b"x"] * 4)
        self.assertEqual(wrapper.held, 100000 - 4)

    def test_pullProducerOnlyWhenEmpty(self):
        """
        Character Generator under split: a new cycle only once the lab has
        sent the last one, so memory stays one cycle however long it runs.
        """
        factory = SimpleFactory(PROTOCOLS["chargen"], Clock())
        clock, wrapper, transport = connect(LabFaults(split=4096), factory)
        self.assertEqual(wrapper.held, len(CHARGEN_CYCLE) - 4096)
        for _ in range(10):
            clock.advance(PIECE_GAP)
            self.assertLessEqual(wrapper.held, len(CHARGEN_CYCLE))
        self.assertEqual(transport.value()[: len(CHARGEN_CYCLE)], CHARGEN_CYCLE)
        self.assertGreater(len(transport.value()), 2 * len(CHARGEN_CYCLE))

    def test_connectionLostCancelsTimers(self):
        clock, wrapper, transport = connect(LabFaults(delay=5.0, coalesce=1.0))
        wrapper.wrappedProtocol.transport.write(b"never sent")
        wrapper.connectionLost(None)
        clock.advance(FLUSH_DELAY)  # (the access log's batch; the faults' timers are later)
        self.assertEqual(clock.getDelayedCalls(), [])


class ParseTests(SynchronousTestCase):
    def test_parse(self):
        self.assertEqual(parseLab("split=5"), (None, LabFaults(split=5)))
        self.assertEqual(
            parseLab("doctor:split=5,delay=200"), ("doctor", LabFaults(split=5, delay=0.2))
        )
        self.assertEqual(parseLab("chat:coalesce"), ("chat", LabFaults(coalesce=0.5)))
        self.assertEqual(parseLab("coalesce=800"), (None, LabFaults(coalesce=0.8)))
        for bad in ("split", "split=0", "delay", "delay=70000", "jitter=5", "coalesce=0", ""):
            self.assertRaises(ValueError, parseLab, bad)

    def test_mergedAndDescribed(self):
        merged = LabFaults(split=5).merged(LabFaults(delay=0.2))
        self.assertEqual(merged, LabFaults(split=5, delay=0.2))
        self.assertEqual(
            LabFaults(split=1, delay=0.2, coalesce=0.5).describe(),
            "replies arrive in pieces of 1 byte, 200 ms late, several at a time (held 500 ms)",
        )
