"""
Tests for L{netlab.oneshot}: one-shot services behind the guard, not wrapped;
and the bound on L{netlab.accesslog}'s lines that one-shot storms would test.
"""

import socket

from twisted.internet import reactor
from twisted.internet.protocol import Factory
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

from netlab.accesslog import FLUSH_DELAY, FULL_LINES, MOST_COUNTED, SERVED, AccessLog
from netlab.guard import GuardFactory, GuardProtocol
from netlab.lab import LabFaults, LabProtocol
from netlab.oneshot import CLOSE_GRACE, OneShotProtocol
from netlab.test.test_guard import NegotiatedTransport, address


class Hello(OneShotProtocol):
    def reply(self) -> bytes:
        return b"hello\r\n"


class OneShotTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)
        self.factory = GuardFactory(
            Factory.forProtocol(Hello), "hello", self.clock, maxConnections=2, maxPerPeer=1
        )

    def messages(self, level=LogLevel.info):
        return [
            e["log_format"].format(**e)
            for e in self.events
            if e.get("log_namespace") == "netlab" and e["log_level"] == level
        ]

    def connect(self, host="10.0.0.1", port=7, transport=StringTransport):
        protocol = self.factory.buildProtocol(address(host, port))
        connection = transport(peerAddress=address(host, port))
        protocol.makeConnection(connection)
        return protocol, connection

    def test_notWrapped(self):
        """
        The guard builds the service's own protocol: it answers and closes.
        """
        protocol, transport = self.connect()
        self.assertIsInstance(protocol, Hello)
        self.assertEqual(transport.value(), b"hello\r\n")
        self.assertTrue(transport.disconnecting)

    def test_countedTowardsTheLimits(self):
        """
        While open, a one-shot connection counts towards the per-peer and the
        service's limits; once closed it no longer does.
        """
        first, _ = self.connect("10.0.0.1")
        _, refused = self.connect("10.0.0.1", 8)
        self.assertEqual(refused.value(), b"ERR too many connections\r\n")
        self.connect("10.0.0.2")
        _, full = self.connect("10.0.0.3")
        self.assertEqual(full.value(), b"ERR too many connections\r\n")
        first.connectionLost(None)
        self.assertEqual(self.factory.perPeer["10.0.0.1"], 0)
        second, again = self.connect("10.0.0.1", 9)
        self.assertEqual(again.value(), b"hello\r\n")

    def test_oneLinePerConnection(self):
        """
        A one-shot connection gets one access line, when it has closed.
        """
        protocol, _ = self.connect()
        self.clock.advance(FLUSH_DELAY)
        self.assertEqual(self.messages(), [])
        protocol.connectionLost(None)
        self.clock.advance(FLUSH_DELAY)
        self.assertEqual(self.messages(), ["hello: served 10.0.0.1:7"])

    def test_closeDeadline(self):
        """
        A close that cannot finish (the reply was not sent at once: here, a
        transport that is not a plain TCP socket) is cut after CLOSE_GRACE,
        with one line saying why; one that finishes cancels it.
        """
        protocol, transport = self.connect(transport=NegotiatedTransport)
        protocol.handshakeCompleted()
        self.clock.advance(CLOSE_GRACE - 0.1)
        self.assertFalse(transport.aborted)
        self.clock.advance(0.1)
        self.assertTrue(transport.aborted)
        self.assertIn(
            "hello: 10.0.0.1:7: reply not taken in 10 s, connection cut",
            self.messages(LogLevel.warn)[-1],
        )
        protocol.connectionLost(None)
        other, _ = self.connect("10.0.0.2")
        other.connectionLost(None)
        self.clock.advance(FLUSH_DELAY)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_handshakeDeadline(self):
        """
        A TLS peer gets the guard's handshake timeout to finish its
        handshake, then CLOSE_GRACE from then on to take the reply.
        """
        self.factory.handshakeTimeout = 3
        slow, slowTransport = self.connect(transport=NegotiatedTransport)
        quick, quickTransport = self.connect("10.0.0.2", transport=NegotiatedTransport)
        self.clock.advance(2)
        quick.handshakeCompleted()
        self.clock.advance(1)
        self.assertTrue(slowTransport.aborted)
        self.assertIn("TLS handshake not finished in 3 s", self.messages(LogLevel.warn)[-1])
        self.assertFalse(quickTransport.aborted)
        self.clock.advance(CLOSE_GRACE - 1.1)  # (CLOSE_GRACE after the handshake, less 0.1)
        self.assertFalse(quickTransport.aborted)
        self.clock.advance(0.1)
        self.assertTrue(quickTransport.aborted)
        slow.connectionLost(None)
        self.clock.advance(FLUSH_DELAY)
        self.assertIn(
            "hello: 10.0.0.1:7 gone before its TLS handshake finished (not served)",
            self.messages(),
        )

    def test_labFaultsWrap(self):
        """
        With lab faults, a one-shot service is wrapped like any other, so
        that the faults apply to its reply.
        """
        factory = GuardFactory(
            Factory.forProtocol(Hello),
            "hello",
            self.clock,
            protocol=lambda f, p: LabProtocol(f, p, LabFaults(split=2)),
        )
        protocol = factory.buildProtocol(address("10.0.0.1"))
        self.assertIsInstance(protocol, GuardProtocol)
        self.assertIsInstance(protocol.wrappedProtocol, Hello)


class RealSocketTests(TestCase):
    """
    Over a real loopback connection the reply goes straight to the socket and
    the close needs no deadline.
    """

    def test_sentAtOnce(self):
        accessLog = AccessLog(reactor)
        self.addCleanup(accessLog.flush)
        factory = GuardFactory(Factory.forProtocol(Hello), "hello", reactor, accessLog=accessLog)
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        client = socket.create_connection(("127.0.0.1", port.getHost().port))
        self.addCleanup(client.close)
        client.setblocking(False)
        received = []

        def check():
            try:
                received.append(client.recv(100))
            except BlockingIOError:
                pass
            return b"".join(received).endswith(b"hello\r\n") and factory.oneShotsOpen == 0

        def poll(_=None):
            if check():
                return None
            return deferLater(reactor, 0.01, poll)

        def done(_):
            self.assertEqual(b"".join(received), b"hello\r\n")
            pending = [c for c in reactor.getDelayedCalls() if "_tooSlow" in repr(c)]
            self.assertEqual(pending, [])
            self.assertEqual(factory.perPeer, {})

        return poll().addCallback(done)


class AccessLogBoundTests(SynchronousTestCase):
    """
    A storm of connections cannot fill the disk: past L{FULL_LINES} the
    access log counts lines per address instead of writing each.
    """

    def setUp(self):
        self.clock = Clock()
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)
        self.accessLog = AccessLog(self.clock)

    def lines(self):
        return [
            line
            for e in self.events
            if e.get("log_namespace") == "netlab"
            for line in e["log_format"].format(**e).split("\n")
        ]

    def storm(self, count, hosts):
        for n in range(count):
            self.accessLog.add(SERVED, "daytime", address(hosts[n % len(hosts)], 1000 + n % 60000))

    def test_fullThenCounted(self):
        """
        The first L{FULL_LINES.burst} lines are written one by one; the rest
        of the batch is counted per address, the busiest first, the
        addresses past L{MOST_COUNTED} on one line; every connection is in
        the log, one way or the other.
        """
        burst = FULL_LINES.burst
        hosts = [f"10.0.0.{n}" for n in range(1, 13)] + ["10.0.1.1"] * 12
        self.storm(burst + 960, hosts)  # (full batches of BATCH_LINES at once, then 960)
        self.accessLog.flush()  # (at once: the bucket has not refilled at all)
        lines = self.lines()
        self.assertEqual(len(lines), burst + MOST_COUNTED + 1)
        self.assertTrue(all(": served 10.0." in line for line in lines[:burst]))
        self.assertEqual(
            lines[burst],
            "daytime: served 10.0.1.1 480 more times (counted, not written one by one: "
            "more than 100 connection lines a second)",
        )
        self.assertRegex(lines[burst + 1], r"^daytime: served 10\.0\.0\.\d+ 40 more times$")
        self.assertEqual(lines[-1], "... and 120 more connection lines about 3 other addresses")

    def test_refills(self):
        """
        Once the storm is over, lines are written in full again, at the
        sustained rate.
        """
        self.storm(FULL_LINES.burst + 1000, ["10.0.0.1"])  # (all in full batches, at once)
        self.events.clear()
        self.clock.advance(2)
        self.storm(300, ["10.0.0.2"])
        self.clock.advance(FLUSH_DELAY)
        lines = self.lines()
        written = int(FULL_LINES.perSecond * (2 + FLUSH_DELAY))
        self.assertEqual(len(lines), written + 1)
        self.assertTrue(lines[-1].startswith(f"daytime: served 10.0.0.2 {300 - written} more"))
