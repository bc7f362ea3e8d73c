"""
Tests for L{netlab.daytime}: the text, the clock, the formats, TCP and UDP.
"""

import time

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netlab.daytime import (
    DaytimeDatagramProtocol,
    DaytimeFactory,
    formatter,
)
from netlab.ratelimit import Rate

#: 2026-11-25T01:54:32Z
MOMENT = 1795571672.0


class FakeDatagramTransport:
    def __init__(self):
        self.sent = []

    def write(self, data, addr):
        self.sent.append((data, addr))


def connect(factory, host="127.0.0.1"):
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


class DaytimeProtocolTests(SynchronousTestCase):
    def test_courseText(self):
        """
        By default the server sends ctime(), the course's farewell, a final
        newline -- and closes.
        """
        clock = Clock()
        clock.advance(MOMENT)
        _, transport = connect(DaytimeFactory(clock))
        self.assertEqual(
            transport.value(), (time.ctime(MOMENT) + "\nHave a nice day!\n").encode("ascii")
        )
        self.assertTrue(transport.disconnecting)

    def test_clockInjected(self):
        """
        The time comes from the factory's clock, not the wall clock.
        """
        clock = Clock()
        factory = DaytimeFactory(clock, "rfc3339")
        _, first = connect(factory)
        clock.advance(MOMENT)
        _, second = connect(factory)
        self.assertEqual(first.value(), b"1970-01-01T00:00:00Z\nHave a nice day!\n")
        self.assertEqual(second.value(), b"2026-11-25T01:54:32Z\nHave a nice day!\n")

    def test_strftime(self):
        clock = Clock()
        clock.advance(MOMENT)
        _, transport = connect(DaytimeFactory(clock, "%Y|%j"))
        self.assertEqual(
            transport.value(),
            time.strftime("%Y|%j", time.localtime(MOMENT)).encode() + b"\nHave a nice day!\n",
        )


class FormatterTests(SynchronousTestCase):
    def test_names(self):
        self.assertEqual(formatter("ctime")(MOMENT), time.ctime(MOMENT))
        self.assertEqual(formatter("rfc3339")(MOMENT), "2026-11-25T01:54:32Z")

    def test_bad(self):
        """
        A format that is neither a known name nor a strftime pattern is refused.
        """
        for bad in ("banana", "", "rfc"):
            with self.assertRaises(ValueError):
                formatter(bad)


class DaytimeUDPTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(MOMENT)
        self.protocol = DaytimeDatagramProtocol(self.clock, "rfc3339", Rate(1.0, 2))
        self.transport = FakeDatagramTransport()
        self.protocol.transport = self.transport

    def test_answersEveryDatagram(self):
        """
        Any datagram, even an empty one, is answered with the text, to its sender.
        """
        self.protocol.datagramReceived(b"", ("127.0.0.1", 5000))
        self.assertEqual(
            self.transport.sent,
            [(b"2026-11-25T01:54:32Z\nHave a nice day!\n", ("127.0.0.1", 5000))],
        )

    def test_ratePerSource(self):
        """
        Each source address gets at most its burst at once and then the rate;
        other sources are unaffected.
        """
        for _ in range(10):
            self.protocol.datagramReceived(b"x", ("10.0.0.1", 1))
        self.protocol.datagramReceived(b"x", ("10.0.0.2", 1))
        self.assertEqual(
            [addr[0] for _, addr in self.transport.sent], ["10.0.0.1"] * 2 + ["10.0.0.2"]
        )
        self.clock.advance(1.0)
        self.protocol.datagramReceived(b"x", ("10.0.0.1", 1))
        self.protocol.datagramReceived(b"x", ("10.0.0.1", 1))
        self.assertEqual(len(self.transport.sent), 4)

    def test_unlimited(self):
        protocol = DaytimeDatagramProtocol(self.clock)
        protocol.transport = self.transport
        for _ in range(50):
            protocol.datagramReceived(b"x", ("10.0.0.1", 1))
        self.assertEqual(len(self.transport.sent), 50)
