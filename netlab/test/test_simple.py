"""
Tests for L{netlab.simple}: Echo, Discard, Character Generator, Quote of the
Day and Time over L{StringTransport} with a L{Clock}.
"""

from twisted.internet.interfaces import IPullProducer, IPushProducer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netlab.simple import (
    CHARGEN_CYCLE,
    EPOCH_1900,
    MAX_QUOTE,
    PROTOCOLS,
    SEND_BUFFER,
    SimpleFactory,
    chargenLine,
    loadQuotes,
    rfc868,
)

#: 2026-11-25T01:54:32Z
MOMENT = 1795571672.0


def connect(name, clock, **kwargs):
    factory = SimpleFactory(PROTOCOLS[name], clock, **kwargs)
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


class TimeTests(SynchronousTestCase):
    def test_knownInstant(self):
        """
        RFC 868 counts seconds from 1900-01-01 UTC: 2026-11-25T01:54:32Z is
        4,004,560,472, past 2**31 (Twisted's wire.Time counts from 1970, signed).
        """
        self.assertEqual(EPOCH_1900, 2_208_988_800)
        self.assertEqual(rfc868(MOMENT), (4_004_560_472).to_bytes(4, "big"))
        self.assertEqual(rfc868(0), bytes.fromhex("83aa7e80"))  # the RFC's own example

    def test_sendsAndCloses(self):
        clock = Clock()
        clock.advance(MOMENT)
        protocol, transport = connect("time", clock)
        self.assertEqual(transport.value(), rfc868(MOMENT))
        self.assertTrue(transport.disconnecting)

    def test_wrapsIn2036(self):
        self.assertEqual(rfc868(2**32 - EPOCH_1900), b"\x00\x00\x00\x00")


class ChargenTests(SynchronousTestCase):
    def test_linePattern(self):
        """
        Each line is 72 printable characters starting one further on, then CRLF.
        """
        self.assertEqual(chargenLine(0)[:10], b" !\"#$%&'()")
        self.assertEqual(chargenLine(1)[:3], b'!"#')
        for n in range(200):
            line = chargenLine(n)
            self.assertEqual(len(line), 74)
            self.assertTrue(line.endswith(b"\r\n"))
            self.assertTrue(all(32 <= c < 127 for c in line[:-2]))
            self.assertEqual(line[1:72], chargenLine(n + 1)[:71])

    def test_wrapAround(self):
        """
        The pattern wraps from ~ back to space, and repeats every 95 lines.
        """
        self.assertEqual(chargenLine(94)[:2], b"~ ")
        self.assertEqual(chargenLine(95), chargenLine(0))
        self.assertEqual(len(CHARGEN_CYCLE), 95 * 74)

    def test_backPressure(self):
        """
        A pull producer: one cycle per request, nothing more until the
        transport asks again, so a client that does not read costs no memory.
        """
        protocol, transport = connect("chargen", Clock())
        self.assertTrue(IPullProducer.providedBy(protocol))
        self.assertIs(transport.producer, protocol)
        self.assertFalse(transport.streaming)
        self.assertEqual(transport.value(), b"")
        protocol.resumeProducing()
        protocol.resumeProducing()
        self.assertEqual(transport.value(), CHARGEN_CYCLE * 2)
        lines = transport.value().split(b"\r\n")[:-1]
        expected = [chargenLine(n) for n in range(190)]
        self.assertEqual([line + b"\r\n" for line in lines[:190]], expected)


class SendBufferTests(SynchronousTestCase):
    def test_capped(self):
        """
        Echo and Character Generator fix their socket's send buffer, so a
        peer that never reads cannot make the kernel hold megabytes for it.
        """
        import socket

        for name in ("echo", "chargen"):
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                self.assertGreater(
                    sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF), 2 * SEND_BUFFER
                )
                transport = StringTransport()
                transport.getHandle = lambda sock=sock: sock
                factory = SimpleFactory(PROTOCOLS[name], Clock())
                factory.buildProtocol(None).makeConnection(transport)
                size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
                self.assertLessEqual(size, 2 * SEND_BUFFER, name)  # Linux doubles what it is given


class EchoDiscardTests(SynchronousTestCase):
    def test_echo(self):
        protocol, transport = connect("echo", Clock())
        protocol.dataReceived(b"hello\r\n\xff\x00")
        self.assertEqual(transport.value(), b"hello\r\n\xff\x00")

    def test_echoStopsReadingWhileBackedUp(self):
        """
        While the peer does not read the echo, it is not read from either.
        """
        protocol, transport = connect("echo", Clock())
        self.assertTrue(IPushProducer.providedBy(protocol))
        self.assertIs(transport.producer, protocol)
        protocol.pauseProducing()
        self.assertEqual(transport.producerState, "paused")
        protocol.resumeProducing()
        self.assertEqual(transport.producerState, "producing")

    def test_discard(self):
        protocol, transport = connect("discard", Clock())
        protocol.dataReceived(b"x" * 100000)
        self.assertEqual(transport.value(), b"")

    def test_idleTimeout(self):
        """
        Echo and Discard close a connection that says nothing for idleTimeout
        seconds; input resets the timer.
        """
        for name in ("echo", "discard"):
            clock = Clock()
            protocol, transport = connect(name, clock, idleTimeout=10)
            clock.advance(9)
            protocol.dataReceived(b"x")
            clock.advance(9)
            self.assertFalse(transport.disconnecting, name)
            clock.advance(1)
            self.assertTrue(transport.disconnecting, name)
            self.assertIsNone(transport.producer, name)

    def test_noIdleTimeout(self):
        clock = Clock()
        protocol, transport = connect("echo", clock)
        clock.advance(10**6)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(clock.getDelayedCalls(), [])


class QOTDTests(SynchronousTestCase):
    def test_shippedQuotes(self):
        """
        The quotes netlab ships: several, each at most 512 characters of ASCII.
        """
        quotes = loadQuotes()
        self.assertGreater(len(quotes), 20)
        for quote in quotes:
            self.assertLessEqual(len(quote), MAX_QUOTE)
            self.assertTrue(quote.endswith(b"\r\n"))
            quote.decode("ascii")

    def test_quoteOfTheDay(self):
        """
        One quote, then close; the same all day for everyone, another the next day.
        """
        clock = Clock()
        clock.advance(MOMENT)
        quotes = [b"a\r\n", b"b\r\n", b"c\r\n"]
        seen = []
        for step in (0, 3600, 86400):
            clock.advance(step)
            protocol, transport = connect("qotd", clock, quotes=quotes)
            self.assertTrue(transport.disconnecting)
            seen.append(transport.value())
        self.assertEqual(seen[0], seen[1])
        self.assertNotEqual(seen[1], seen[2])

    def test_badQuotes(self):
        self.assertRaises(ValueError, loadQuotes, "# nothing\n")
        self.assertRaises(ValueError, loadQuotes, "x" * 600)
        self.assertEqual(loadQuotes("one\n  -- me\n\n\ntwo\n"), [b"one\r\n  -- me\r\n", b"two\r\n"])
