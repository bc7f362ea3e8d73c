"""
Tests for L{netlab.udp}: every UDP service's reply and the guard in front of
them (reflection: source ports, replies and bytes per source, shared budget).
"""

import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from netlab.ratelimit import Rate
from netlab.simple import CHARGEN_CYCLE, EPOCH_1900
from netlab.udp import (
    BYTE_RATE,
    DATAGRAMS_PER_TURN,
    BoundedPort,
    GuardedDatagramProtocol,
    UDPGuard,
    chargenDatagram,
    replies,
)

#: 2026-11-25T01:54:32Z
MOMENT = 1795571672.0

CLIENT = ("127.0.0.1", 40000)


class FakeDatagramTransport:
    def __init__(self):
        self.sent = []

    def write(self, data, addr):
        self.sent.append((data, addr))


class UDPTestCase(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(MOMENT)
        self.replies = replies(self.clock, "rfc3339", [b"one\r\n", b"two\r\n"], random.Random(7))

    def service(self, name, rate=None, guard=None, **kwargs):
        guard = guard or UDPGuard(self.clock, rate, **kwargs)
        protocol = GuardedDatagramProtocol(name, self.replies[name], guard)
        protocol.transport = FakeDatagramTransport()
        return protocol


class RepliesTests(UDPTestCase):
    def test_daytime(self):
        """
        Any datagram, even an empty one, is answered with the text, to its sender.
        """
        protocol = self.service("daytime")
        protocol.datagramReceived(b"", CLIENT)
        self.assertEqual(
            protocol.transport.sent, [(b"2026-11-25T01:54:32Z\nHave a nice day!\n", CLIENT)]
        )

    def test_echo(self):
        protocol = self.service("echo")
        protocol.datagramReceived(b"hello \xff\x00", CLIENT)
        self.assertEqual(protocol.transport.sent, [(b"hello \xff\x00", CLIENT)])

    def test_discard(self):
        protocol = self.service("discard")
        protocol.datagramReceived(b"into the void", CLIENT)
        self.assertEqual(protocol.transport.sent, [])

    def test_time(self):
        """
        RFC 868: 4 bytes, big-endian, seconds since 1900 (past 2**31 today).
        """
        protocol = self.service("time")
        protocol.datagramReceived(b"", CLIENT)
        [(data, _)] = protocol.transport.sent
        self.assertEqual(int.from_bytes(data, "big"), int(MOMENT) + EPOCH_1900)
        self.assertGreater(int.from_bytes(data, "big"), 2**31)

    def test_qotd(self):
        """
        The quote of the day: the same all day, the next one the next day.
        """
        protocol = self.service("qotd")
        protocol.datagramReceived(b"", CLIENT)
        self.clock.advance(86400)
        protocol.datagramReceived(b"", CLIENT)
        quotes = sorted(data for data, _ in protocol.transport.sent)
        self.assertEqual(quotes, [b"one\r\n", b"two\r\n"])

    def test_chargen(self):
        """
        RFC 864 over UDP: a random number (0 to 512) of the pattern's characters.
        """
        rng = random.Random(3)
        sizes = set()
        for _ in range(200):
            data = chargenDatagram(rng)
            self.assertLessEqual(len(data), 512)
            self.assertEqual(data, CHARGEN_CYCLE[: len(data)])
            sizes.add(len(data))
        self.assertGreater(len(sizes), 100)


class GuardTests(UDPTestCase):
    def test_privilegedSourcePortsIgnored(self):
        """
        No reply to a source port below 1024 (echo's 7, chargen's 19, ...).
        """
        protocol = self.service("echo")
        for port in (0, 7, 13, 19, 37, 1023):
            protocol.datagramReceived(b"x", ("127.0.0.1", port))
        protocol.datagramReceived(b"x", ("127.0.0.1", 1024))
        self.assertEqual([addr[1] for _, addr in protocol.transport.sent], [1024])

    def test_ownPortsIgnored(self):
        """
        No reply to a port netlab serves: no echo/chargen ping-pong.
        """
        protocol = self.service("echo", forbiddenPorts={21571, 21573})
        protocol.datagramReceived(b"x", ("127.0.0.1", 21573))
        protocol.datagramReceived(b"x", ("127.0.0.1", 21571))
        self.assertEqual(protocol.transport.sent, [])

    def test_ratePerSource(self):
        """
        Each source address gets at most its burst at once and then the rate;
        other sources are unaffected.
        """
        protocol = self.service("daytime", Rate(1.0, 2))
        for _ in range(10):
            protocol.datagramReceived(b"x", ("10.0.0.1", 5000))
        protocol.datagramReceived(b"x", ("10.0.0.2", 5000))
        self.assertEqual(
            [addr[0] for _, addr in protocol.transport.sent], ["10.0.0.1"] * 2 + ["10.0.0.2"]
        )
        self.clock.advance(1.0)
        protocol.datagramReceived(b"x", ("10.0.0.1", 5000))
        protocol.datagramReceived(b"x", ("10.0.0.1", 5000))
        self.assertEqual(len(protocol.transport.sent), 4)

    def test_oneBudgetForAllServices(self):
        """
        Asking several services does not multiply a source's budget.
        """
        guard = UDPGuard(self.clock, Rate(1.0, 3))
        services = [self.service(name, guard=guard) for name in ("daytime", "time", "qotd")]
        for _ in range(3):
            for protocol in services:
                protocol.datagramReceived(b"", CLIENT)
        self.assertEqual(sum(len(p.transport.sent) for p in services), 3)

    def test_byteCapPerSource(self):
        """
        Reply bytes per source are capped, however few the replies.
        """
        protocol = self.service("echo")
        big = b"x" * 4000
        for _ in range(5):
            protocol.datagramReceived(big, CLIENT)
        self.assertEqual(len(protocol.transport.sent), BYTE_RATE.burst // len(big))
        self.clock.advance(1.0)
        protocol.datagramReceived(big, CLIENT)
        self.assertEqual(len(protocol.transport.sent), BYTE_RATE.burst // len(big) + 1)

    def test_dualStackSourcesCountAsIPv4(self):
        """
        An IPv4 source seen through a dual-stack socket shares its IPv4 budget.
        """
        protocol = self.service("daytime", Rate(1.0, 1))
        protocol.datagramReceived(b"", ("::ffff:10.0.0.1", 5000, 0, 0))
        protocol.datagramReceived(b"", ("10.0.0.1", 5000))
        self.assertEqual(len(protocol.transport.sent), 1)

    def test_unlimited(self):
        protocol = self.service("daytime", None, byteRate=None)
        for _ in range(50):
            protocol.datagramReceived(b"x", CLIENT)
        self.assertEqual(len(protocol.transport.sent), 50)

    def test_dropsLoggedThrottled(self):
        """
        Drops are logged once, then at most once a minute with the running
        count, however fast they come.
        """
        from twisted.logger import globalLogPublisher

        seen = []
        globalLogPublisher.addObserver(seen.append)
        self.addCleanup(globalLogPublisher.removeObserver, seen.append)
        protocol = self.service("echo")
        for _ in range(120):
            for _ in range(1000):
                protocol.datagramReceived(b"x", ("127.0.0.1", 7))
            self.clock.advance(1.0)
        drops = [e for e in seen if "unanswered" in e.get("log_format", "")]
        self.assertEqual([e["dropped"] for e in drops], [1, 60001])


class BoundedPortTests(SynchronousTestCase):
    def test_datagramsPerTurn(self):
        """
        One read handles at most DATAGRAMS_PER_TURN datagrams, empty ones
        included (Twisted's own port counted them as nothing and kept reading
        while a flood lasted); the rest wait for the reactor's next turn.
        """
        import socket

        from twisted.internet.testing import MemoryReactorClock

        received = []

        class Recorder:
            service = "test"

            def datagramReceived(self, data, addr):
                received.append(data)

            def makeConnection(self, transport):
                pass

            def doStart(self):
                pass

            def doStop(self):
                pass

        reactor = MemoryReactorClock()
        port = BoundedPort(0, Recorder(), "127.0.0.1", reactor=reactor)
        port.startListening()
        self.addCleanup(port.socket.close)
        address = port.getHost()
        port.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sent = DATAGRAMS_PER_TURN + 40  # what the socket's buffer surely holds
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for _ in range(sent):
                sender.sendto(b"", (address.host, address.port))
        counts = []
        for _ in range(3):
            port.doRead()
            counts.append(len(received))
        self.assertEqual(counts, [DATAGRAMS_PER_TURN, sent, sent])
