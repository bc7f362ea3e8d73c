"""
Tests for L{netlab.pacing}, and for the framing's use of it: messages beyond a
connection's rate wait (nothing is lost), the client is told at most once a
while, and a lockstep client is never told (its one C{recv} would take the
notice for its answer).
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.service import DoctorFactory
from netlab.pacing import NOTICE_INTERVAL, AddressShare, Pacer
from netlab.ratelimit import Rate


class PacerTests(SynchronousTestCase):
    """
    The pace of one connection.
    """

    def test_burstThenRate(self) -> None:
        """
        A burst at once, then one message per 1/rate seconds; the delay says
        when the next one may go.
        """
        clock = Clock()
        pacer = Pacer(Rate(4.0, 2), clock)
        self.assertEqual([pacer.delay(0.0) for _ in range(2)], [0.0, 0.0])
        self.assertAlmostEqual(pacer.delay(0.0), 0.25)
        self.assertEqual(pacer.delay(0.25), 0.0)
        self.assertAlmostEqual(pacer.delay(0.3), 0.2)

    def test_noticeOnceAWhile(self) -> None:
        """
        The notice is given, then not again for L{NOTICE_INTERVAL} seconds.
        """
        pacer = Pacer(Rate(5.0, 1), Clock())
        self.assertEqual(pacer.delay(0.0), 0.0)
        self.assertGreater(pacer.delay(0.0), 0.0)
        self.assertEqual(
            pacer.notice(0.0), "slow down: lines beyond 5 a second wait their turn"
        )
        self.assertIsNone(pacer.notice(NOTICE_INTERVAL - 0.1))
        self.assertIsNotNone(pacer.notice(NOTICE_INTERVAL))


class DoctorPaceTests(SynchronousTestCase):
    """
    The Doctor's C{--doctor-rate}, through the framing.
    """

    def connect(self):
        clock = Clock()
        factory = DoctorFactory(clock, rate=Rate(2.0, 2))
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        transport.clear()
        return clock, protocol, transport

    def test_lineClientWaits(self) -> None:
        """
        Five lines at once from a line client: two answered, a notice, and the
        other three answered at two a second, in order.
        """
        clock, protocol, transport = self.connect()
        protocol.dataReceived(b"I am sad\n" * 5)
        lines = transport.value().decode().split("\n")[1:-1]  # after the greeting's end
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(lines[2].startswith("ERR slow down"), lines)
        self.assertEqual(transport.producerState, "paused")
        transport.clear()
        for _ in range(3):
            clock.advance(0.5)
        self.assertEqual(len(transport.value().decode().splitlines()), 3)
        self.assertEqual(transport.producerState, "producing")

    def test_lockstepClientIsNotTold(self) -> None:
        """
        A lockstep client over its rate gets its one reply later, and no
        notice.
        """
        clock, protocol, transport = self.connect()
        answers = []
        for _ in range(3):
            protocol.dataReceived(b"I am sad")
            clock.advance(0.1)  # the bare message's quiet time
            answers.append(transport.value())
            transport.clear()
        self.assertEqual([bool(a) for a in answers], [True, True, False])
        for _ in range(10):
            clock.advance(0.1)
        late = transport.value()
        self.assertTrue(late)
        self.assertNotIn(b"ERR", late)


class AddressShareTests(SynchronousTestCase):
    """
    What one address may send over all its connections.
    """

    def test_lines(self) -> None:
        """
        Lines per second with a burst, per address; another address has its own.
        """
        share = AddressShare(Rate(2.0, 3), None)
        self.assertEqual([share.delay("a", 10, 0.0) for _ in range(3)], [0.0] * 3)
        self.assertAlmostEqual(share.delay("a", 10, 0.0), 0.5)
        self.assertEqual(share.delay("b", 10, 0.0), 0.0)
        self.assertEqual(share.delay("a", 10, 0.5), 0.0)

    def test_bytes(self) -> None:
        """
        Bytes per second, with bursts of four seconds' worth; a message longer
        than the burst waits for a full bucket, not for ever.
        """
        share = AddressShare(None, 1000)
        self.assertEqual(share.delay("a", 4000, 0.0), 0.0)
        self.assertAlmostEqual(share.delay("a", 500, 0.0), 0.5)
        self.assertAlmostEqual(share.delay("a", 10_000, 1.0), 3.0)
        self.assertEqual(share.delay("a", 10_000, 4.0), 0.0)

    def test_pacerNamesTheReason(self) -> None:
        """
        A message held back by the address's share says so.
        """
        pacer = Pacer(Rate(100.0, 100), Clock())
        share = AddressShare(Rate(1.0, 1), None)
        self.assertEqual(pacer.delay(0.0, share, "a", 1), 0.0)
        self.assertGreater(pacer.delay(0.0, share, "a", 1), 0.0)
        self.assertEqual(
            pacer.notice(0.0),
            "slow down: your address sends more than its share; lines wait their turn",
        )
