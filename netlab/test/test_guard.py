"""
Tests for L{netlab.guard} (logging, limits, shutdown), the connection lines of
L{netlab.accesslog} and the throttled warnings of L{netlab.logthrottle} as the
guard writes them, and L{netlab.ratelimit}.
"""

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IHalfCloseableProtocol, INegotiated
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from netlab.accesslog import BATCH_LINES, FLUSH_DELAY, AccessLog
from netlab.guard import CLOSE_GRACE, REFUSAL_GRACE, GuardFactory
from netlab.logthrottle import LOG_BURST, REFUSAL_LOG_INTERVAL, ThrottledLog
from netlab.monitor import ConnectionMonitor
from netlab.ratelimit import KeyedLimiter, Rate, TokenBucket


@implementer(IHalfCloseableProtocol)
class Recorder(Protocol):
    """
    Remembers what happened to it.
    """

    def __init__(self):
        self.events = []

    def dataReceived(self, data):
        self.events.append(("data", data))

    def readConnectionLost(self):
        self.events.append("readConnectionLost")

    def writeConnectionLost(self):
        self.events.append("writeConnectionLost")

    def connectionLost(self, reason):
        self.events.append("connectionLost")

    def serverShutdown(self):
        self.transport.write(b"bye\n")
        self.transport.loseConnection()


@implementer(INegotiated)
class NegotiatedTransport(StringTransport):
    """
    A transport that says it is TLS, as Twisted's TLS wrapper does.
    """

    aborted = False
    negotiatedProtocol = None

    def abortConnection(self):
        self.aborted = True


class StallingTransport(StringTransport):
    """
    A plain transport whose close never completes (a peer that never reads).
    """

    aborted = False

    def abortConnection(self):
        self.aborted = True


def address(host, port=1234):
    return IPv6Address("TCP", host, port) if ":" in host else IPv4Address("TCP", host, port)


class GuardTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def guard(self, **limits):
        return GuardFactory(Factory.forProtocol(Recorder), "test", self.clock, **limits)

    def connect(self, factory, host="127.0.0.1", port=1234):
        addr = address(host, port) if host != "unix" else UNIXAddress(None)
        protocol = factory.buildProtocol(addr)
        transport = StringTransport(peerAddress=addr)
        protocol.makeConnection(transport)
        return protocol, transport

    def messages(self, level=None):
        return [
            e["log_format"].format(**e)
            for e in self.events
            if e.get("log_namespace") == "netlab" and (level is None or e["log_level"] == level)
        ]

    def lines(self):
        """
        Every netlab log line so far, one per line of text (a batch of
        connection lines is one event of several lines).
        """
        return [line for message in self.messages() for line in message.split("\n")]

    def test_logsConnections(self):
        """
        Connections and disconnections are logged with the service and the
        peer, in one batch written L{FLUSH_DELAY} seconds after the first line.
        """
        factory = self.guard()
        protocol, _ = self.connect(factory, "::1", 99)
        protocol.connectionLost(None)
        self.clock.advance(FLUSH_DELAY - 0.01)
        self.assertEqual(self.messages(), [])
        self.clock.advance(0.01)
        self.assertEqual(
            self.messages(), ["test: connection from [::1]:99\ntest: [::1]:99 disconnected"]
        )

    def test_everyConnectionLogged(self):
        """
        A peer that connects and disconnects over and over, and a thousand
        peers at once: every connection has its lines, in order, in a few
        events (a full batch is written at once, without waiting).
        """
        factory = self.guard()
        expected = []
        for port in range(1000, 1500):
            protocol, _ = self.connect(factory, "10.0.0.9", port)
            protocol.connectionLost(None)
            expected += [
                f"test: connection from 10.0.0.9:{port}",
                f"test: 10.0.0.9:{port} disconnected",
            ]
        for index in range(1000):
            self.connect(factory, f"10.1.{index // 250}.{index % 250}", 1)
            expected.append(f"test: connection from 10.1.{index // 250}.{index % 250}:1")
        self.assertEqual(len(self.messages()), len(expected) // BATCH_LINES)
        self.clock.advance(FLUSH_DELAY)
        self.assertEqual(self.lines(), expected)
        self.assertEqual(len(self.messages()), -(-len(expected) // BATCH_LINES))

    def test_stopWritesTheLastBatch(self):
        """
        The access log writes what it holds when the daemon stops it.
        """
        accessLog = AccessLog(self.clock)
        accessLog.startService()
        factory = GuardFactory(
            Factory.forProtocol(Recorder), "test", self.clock, accessLog=accessLog
        )
        self.connect(factory, "10.0.0.1", 7)
        accessLog.stopService()
        self.assertEqual(self.messages(), ["test: connection from 10.0.0.1:7"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_maxConnections(self):
        """
        Over the limit, a client is told why and disconnected; after one leaves,
        a new one is served.
        """
        factory = self.guard(maxConnections=2)
        first, _ = self.connect(factory)
        self.connect(factory, "10.0.0.2")
        _, refused = self.connect(factory, "10.0.0.3")
        self.assertEqual(refused.value(), b"ERR too many connections\r\n")
        self.assertTrue(refused.disconnecting)
        first.connectionLost(None)
        _, accepted = self.connect(factory, "10.0.0.3")
        self.assertFalse(accepted.disconnecting)

    def test_maxPerPeer(self):
        """
        One address cannot take more than its share; others are unaffected.
        """
        factory = self.guard(maxPerPeer=2)
        self.connect(factory, "10.0.0.1", 1)
        self.connect(factory, "10.0.0.1", 2)
        _, refused = self.connect(factory, "10.0.0.1", 3)
        _, other = self.connect(factory, "10.0.0.2", 1)
        self.assertEqual(refused.value(), b"ERR too many connections\r\n")
        self.assertFalse(other.disconnecting)
        self.assertEqual(dict(factory.perPeer), {"10.0.0.1": 2, "10.0.0.2": 1})

    def test_unixPeersHaveNoHost(self):
        """
        UNIX-socket peers have no address: the per-peer limit does not apply.
        """
        factory = self.guard(maxPerPeer=1)
        for _ in range(3):
            _, transport = self.connect(factory, "unix")
            self.assertFalse(transport.disconnecting)
        self.assertEqual(len(factory.protocols), 3)

    def test_warningAfterItsConnectionLine(self):
        """
        A warning is written after the connection lines the access log held
        (it may be about one of those connections).
        """
        accessLog = AccessLog(self.clock)
        monitor = ConnectionMonitor(self.clock, ThrottledLog(self.clock, before=accessLog.flush))
        factory = GuardFactory(
            Factory.forProtocol(Recorder),
            "test",
            self.clock,
            maxPerPeer=1,
            accessLog=accessLog,
            monitor=monitor,
        )
        self.connect(factory, "10.0.0.1")
        self.connect(factory, "10.0.0.1", 1235)
        self.assertEqual(len(self.messages()), 2)
        self.assertEqual(self.messages()[0], "test: connection from 10.0.0.1:1234")
        self.assertIn("refused 10.0.0.1:1235", self.messages()[1])

    def test_refusalsLoggedOncePerMinute(self):
        """
        A refused peer is logged once per interval, however often it tries.
        """
        factory = self.guard(maxPerPeer=1)
        self.connect(factory, "10.0.0.1")
        for _ in range(50):
            self.connect(factory, "10.0.0.1")
        for _ in range(3):
            self.connect(factory, "10.0.0.9")
        warnings = self.messages(LogLevel.warn)
        self.assertEqual(len(warnings), 2, warnings)
        self.assertIn("refused 10.0.0.1:1234", warnings[0])
        self.assertIn("refused 10.0.0.9:1234", warnings[1])
        self.clock.advance(REFUSAL_LOG_INTERVAL - 1)
        self.connect(factory, "10.0.0.1")
        self.assertEqual(len(self.messages(LogLevel.warn)), 2)
        self.clock.advance(1)
        self.connect(factory, "10.0.0.1")
        self.assertEqual(len(self.messages(LogLevel.warn)), 3)

    def test_perPeerCountsAnIPv6Slash64(self):
        """
        An IPv6 host picks addresses from a whole /64: the per-peer limit counts
        the /64, not each address (one /64 was unlimited addresses).
        """
        factory = self.guard(maxPerPeer=2)
        self.connect(factory, "2001:db8:1:2::1")
        self.connect(factory, "2001:db8:1:2:ffff::9")
        _, refused = self.connect(factory, "2001:db8:1:2:abcd::7")
        self.assertTrue(refused.disconnecting)
        self.assertIn(b"ERR too many connections", refused.value())
        _, other = self.connect(factory, "2001:db8:1:3::1")
        self.assertFalse(other.disconnecting)
        self.assertIn("limit of 2 connections from one /64", self.messages(LogLevel.warn)[-1])

    def test_logLinesCappedOverAllPeers(self):
        """
        However many peers are refused, the log gets at most LOG_BURST lines at
        once, then one a second, saying how many were left out.
        """
        factory = self.guard(maxPerPeer=1)
        for n in range(LOG_BURST + 200):
            host = f"10.0.{n // 250}.{n % 250}"
            self.connect(factory, host)
            self.connect(factory, host)
        warnings = self.messages(LogLevel.warn)
        self.assertEqual(len(warnings), LOG_BURST)
        self.clock.advance(1)
        self.connect(factory, "10.9.9.9")
        self.connect(factory, "10.9.9.9")
        warnings = self.messages(LogLevel.warn)
        self.assertEqual(len(warnings), LOG_BURST + 1)
        self.assertIn("200 lines about other peers were left out", warnings[-1])

    def test_handshakeDeadline(self):
        """
        A TLS peer that has not finished its handshake within
        handshakeTimeout is cut off (its close would wait for the handshake),
        and the log says so once.
        """
        factory = self.guard(handshakeTimeout=10)
        protocol = factory.buildProtocol(address("127.0.0.1"))
        transport = NegotiatedTransport(peerAddress=address("127.0.0.1"))
        protocol.makeConnection(transport)
        self.clock.advance(9.9)
        self.assertFalse(transport.aborted)
        self.clock.advance(0.1)
        self.assertTrue(transport.aborted)
        self.assertIn("TLS handshake not finished in 10 s", self.messages(LogLevel.warn)[-1])

    def test_handshakeInTime(self):
        factory = self.guard(handshakeTimeout=10)
        protocol = factory.buildProtocol(address("127.0.0.1"))
        transport = NegotiatedTransport(peerAddress=address("127.0.0.1"))
        protocol.makeConnection(transport)
        protocol.handshakeCompleted()
        self.clock.advance(60)
        self.assertFalse(transport.aborted)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_refusedTLSCutAtOnce(self):
        """
        A refusal over TLS is cut at once (its ERR line would wait for a
        handshake the peer may never do, holding a descriptor for ever).
        """
        factory = self.guard(maxPerPeer=1)
        self.connect(factory)
        refusal = factory.buildProtocol(address("127.0.0.1"))
        transport = NegotiatedTransport(peerAddress=address("127.0.0.1"))
        refusal.makeConnection(transport)
        self.assertTrue(transport.aborted)

    def test_refusedPlainCutIfItStalls(self):
        factory = self.guard(maxPerPeer=1)
        self.connect(factory)
        refusal = factory.buildProtocol(address("127.0.0.1"))
        transport = StallingTransport(peerAddress=address("127.0.0.1"))
        refusal.makeConnection(transport)
        self.assertEqual(transport.value(), b"ERR too many connections\r\n")
        self.assertFalse(transport.aborted)
        self.clock.advance(REFUSAL_GRACE)
        self.assertTrue(transport.aborted)

    def test_stalledCloseIsCut(self):
        """
        A close that waits on a peer that never reads (or never finishes its
        TLS handshake) is cut after CLOSE_GRACE, whatever the service was.
        """
        factory = self.guard()
        protocol = factory.buildProtocol(address("127.0.0.1"))
        transport = NegotiatedTransport(peerAddress=address("127.0.0.1"))
        protocol.makeConnection(transport)
        protocol.wrappedProtocol.transport.loseConnection()
        self.clock.advance(CLOSE_GRACE - 0.1)
        self.assertFalse(transport.aborted)
        self.clock.advance(0.1)
        self.assertTrue(transport.aborted)

    def test_closeInTimeNotCut(self):
        factory = self.guard()
        protocol, transport = self.connect(factory)
        protocol.loseConnection()
        protocol.connectionLost(None)
        self.clock.advance(FLUSH_DELAY)  # (the access log's batch)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_noDeadlineWithoutTLS(self):
        factory = self.guard(handshakeTimeout=10)
        self.connect(factory)
        self.clock.advance(FLUSH_DELAY)  # (the access log's batch)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_halfClosePassesThrough(self):
        """
        A half-close reaches a wrapped protocol that supports it.
        """
        factory = self.guard()
        wrapper, _ = self.connect(factory)
        IHalfCloseableProtocol(wrapper).readConnectionLost()
        self.assertEqual(wrapper.wrappedProtocol.events, ["readConnectionLost"])

    def test_shutdown(self):
        """
        Shutdown asks each protocol to say goodbye and fires once all are gone.
        """
        factory = self.guard()
        connections = [self.connect(factory, f"10.0.0.{n}") for n in range(3)]
        done = factory.shutdown()
        self.assertNoResult(done)
        for protocol, transport in connections:
            self.assertEqual(transport.value(), b"bye\n")
            self.assertTrue(transport.disconnecting)
            protocol.connectionLost(None)
        self.successResultOf(done)

    def test_shutdownGrace(self):
        """
        Clients that do not go within the grace period are aborted.
        """
        factory = self.guard()
        _, transport = self.connect(factory)
        done = factory.shutdown(grace=1.0)
        self.clock.advance(1.0)
        self.assertTrue(transport.disconnecting)
        self.successResultOf(done)


class RateTests(SynchronousTestCase):
    def test_parse(self):
        self.assertEqual(Rate.parse("5/s,20"), Rate(5.0, 20))
        self.assertEqual(Rate.parse("30/m"), Rate(0.5, 1))
        self.assertEqual(Rate.parse("10/s"), Rate(10.0, 10))
        self.assertIsNone(Rate.parse("0"))
        for bad in ("fast", "5", "5/h", "-1/s", "0/s", "5/s,0"):
            with self.assertRaises(ValueError, msg=bad):
                Rate.parse(bad)

    def test_bucket(self):
        """
        A bucket allows its burst at once, then refills at its rate, never past
        its burst.
        """
        bucket = TokenBucket(Rate(2.0, 3), now=0.0)
        self.assertEqual([bucket.allow(0.0) for _ in range(4)], [True, True, True, False])
        self.assertTrue(bucket.allow(0.5))
        self.assertFalse(bucket.allow(0.5))
        self.assertEqual(sum(bucket.allow(100.0) for _ in range(10)), 3)

    def test_keyedBounded(self):
        """
        The table of buckets never holds more than its maximum; idle buckets make
        room for new keys, and when none is idle a new key is refused.
        """
        limiter = KeyedLimiter(Rate(1.0, 1), maxKeys=3)
        for key in "abc":
            self.assertTrue(limiter.allow(key, 0.0))
        self.assertFalse(limiter.allow("d", 0.0))
        self.assertTrue(limiter.allow("d", 5.0))
        self.assertLessEqual(len(limiter), 3)

    def test_keyedLeastRecentlyUsedGoesFirst(self):
        """
        A new key replaces the least recently used bucket (checked alone: O(1)),
        never one in use.
        """
        limiter = KeyedLimiter(Rate(1.0, 1), maxKeys=3)
        for key in "abc":
            limiter.allow(key, 0.0)
        self.assertTrue(limiter.allow("a", 5.0))
        self.assertTrue(limiter.allow("d", 5.0))  # replaces b
        self.assertFalse(limiter.allow("a", 5.0))  # a kept its (spent) bucket
        self.assertEqual(list(limiter._buckets), ["c", "d", "a"])
