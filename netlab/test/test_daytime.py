"""
Tests for L{netlab.daytime}: the text, the clock, the formats, over TCP (UDP:
L{netlab.test.test_udp}).
"""

import time

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netlab.daytime import DaytimeFactory, formatter

#: 2026-11-25T01:54:32Z
MOMENT = 1795571672.0


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
