"""
What every netlab listener shares: connection logging, connection limits and a
graceful shutdown.

L{GuardFactory} wraps any service factory, in the manner of
L{twisted.protocols.policies.WrappingFactory} (which it is), so the services stay
free of bookkeeping:

  - every connection and disconnection is logged with the service name and the
    peer's address, in batches (L{netlab.accesslog});
  - C{maxConnections} caps the service's simultaneous connections and
    C{maxPerPeer} the connections from one IP address.  A connection over either
    limit is told C{ERR too many connections} and closed; that is logged once per
    peer per minute, so a flood cannot flood the log as well (L{netlab.logthrottle});
  - L{GuardFactory.shutdown} tells every open connection that the server is going
    away and waits (briefly) for them to close.

C{policies.LimitConnectionsByPeer} would be the per-peer half of this, but it is
broken on Python 3 (it indexes an C{IPv4Address}), and UNIX-socket peers have no
host at all; they count only towards C{maxConnections}.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from twisted.internet import defer
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IHandshakeListener,
    INegotiated,
    IReactorTime,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from zope.interface import implementer

from netlab.accesslog import CONNECTED, DISCONNECTED, SERVED, UNSERVED, AccessLog
from netlab.address import describePeer, peerHost, peerKey
from netlab.monitor import CONNECT, DISCONNECT, ConnectionMonitor, memberName
from netlab.monitored import MonitoredConnection
from netlab.oneshot import CLOSE_GRACE, OneShotProtocol
from netlab.writethrough import directSocket

log = Logger(namespace="netlab")

#: How long a refused connection may take to close before it is cut, in seconds.
REFUSAL_GRACE = 2.0

#: How long a TLS peer has to finish its handshake, in seconds.
HANDSHAKE_TIMEOUT = 10.0

#: The daemon's limits on simultaneous connections: per service, and per IP
#: address (an IPv4 address or an IPv6 /64) over its connections to one service.
MAX_CONNECTIONS = 10_000
MAX_PER_PEER = 256

#: How long a shutdown waits for clients to receive their goodbye, in seconds.
#: SIGTERM must stop the daemon within 2 s, so this leaves room for the rest.
SHUTDOWN_GRACE = 1.0


class TooManyConnections(Protocol):
    """
    Says why the connection is refused, then closes it -- at once over TLS,
    where saying anything needs a handshake the peer may never finish (such
    refusals stayed open for ever, and one address could take every file
    descriptor), and otherwise within L{REFUSAL_GRACE} seconds, read or not.
    """

    factory: GuardFactory
    _cut: IDelayedCall | None = None

    def connectionMade(self) -> None:
        if INegotiated.providedBy(self.transport):
            self.transport.abortConnection()
            return
        self.transport.write(b"ERR too many connections\r\n")
        self.transport.loseConnection()
        self._cut = self.factory.clock.callLater(REFUSAL_GRACE, self.transport.abortConnection)

    def connectionLost(self, reason=None) -> None:
        if self._cut is not None and self._cut.active():
            self._cut.cancel()


@implementer(IHalfCloseableProtocol, IHandshakeListener)
class GuardProtocol(MonitoredConnection, ProtocolWrapper):
    """
    A L{ProtocolWrapper} that passes half-closes through and gives a TLS
    handshake a deadline.

    Plain C{ProtocolWrapper} does not pass half-closes, so a client that sends
    its last line and shuts down its writing side (C{printf 'hi' | nc -N})
    would be disconnected before it got the reply.

    A TLS peer that never finishes its handshake would hold its connection for
    ever: what the service wrote on connect waits for the handshake, and so
    does a close, the idle timeout's included.  Past the factory's
    C{handshakeTimeout} the connection is cut.

    It is also what the teacher's dashboard sees of the connection
    (L{netlab.monitored.MonitoredConnection}).

    @ivar peerKey: what the per-peer limits count the peer by (L{None} for
        UNIX sockets): L{netlab.address.peerKey}.
    """

    peerKey: str | None = None
    #: L{netlab.writethrough} may write to the socket under this wrapper.
    writesThrough = True
    _handshakeDeadline: IDelayedCall | None = None
    _closeDeadline: IDelayedCall | None = None

    def makeConnection(self, transport) -> None:
        timeout = self.factory.handshakeTimeout
        if INegotiated.providedBy(transport):
            self.transportName = "tls"
            if timeout:
                self._handshakeDeadline = self.factory.clock.callLater(
                    timeout, self._handshakeTooSlow
                )
        super().makeConnection(transport)

    def dataReceived(self, data: bytes) -> None:
        self.received(data)
        self.wrappedProtocol.dataReceived(data)
        if self.meter is not None:
            self.meter(len(data))

    def write(self, data: bytes) -> None:
        self.wrote(data)
        self.transport.write(data)

    def writeSequence(self, data) -> None:
        self.write(b"".join(data))

    def handshakeCompleted(self) -> None:
        if self._handshakeDeadline is not None and self._handshakeDeadline.active():
            self._handshakeDeadline.cancel()
        listener = IHandshakeListener(self.wrappedProtocol, None)
        if listener is not None:
            listener.handshakeCompleted()

    def _handshakeTooSlow(self) -> None:
        self.limitHit(
            f"TLS handshake not finished in {self.factory.handshakeTimeout:g} s, connection cut"
        )
        self.transport.abortConnection()

    def loseConnection(self) -> None:
        """
        Close once what was written has gone, as usual -- but a peer that
        does not read, or a TLS peer mid-handshake, would keep a close waiting
        for ever: past L{CLOSE_GRACE} seconds the connection is cut.  (A
        plain TCP connection with nothing left to send closes at the next
        turn: it needs no deadline.)
        """
        if (
            self._closeDeadline is None
            and self.transport is not None
            and directSocket(self.transport) is None
        ):
            self._closeDeadline = self.factory.clock.callLater(CLOSE_GRACE, self._closeTooSlow)
        super().loseConnection()

    def _closeTooSlow(self) -> None:
        self.transport.abortConnection()

    def connectionLost(self, reason) -> None:
        for deadline in (self._handshakeDeadline, self._closeDeadline):
            if deadline is not None and deadline.active():
                deadline.cancel()
        super().connectionLost(reason)

    def readConnectionLost(self) -> None:
        halfCloseable = IHalfCloseableProtocol(self.wrappedProtocol, None)
        if halfCloseable is None:
            self.transport.loseConnection()
        else:
            halfCloseable.readConnectionLost()

    def writeConnectionLost(self) -> None:
        halfCloseable = IHalfCloseableProtocol(self.wrappedProtocol, None)
        if halfCloseable is not None:
            halfCloseable.writeConnectionLost()


class GuardFactory(WrappingFactory):
    """
    Wraps a service factory with logging, connection limits and shutdown.

    @ivar serviceName: the name used in log lines (C{daytime}, C{chat}, ...).
    """

    protocol = GuardProtocol
    noisy = False

    #: Whether connects and disconnects are events on the dashboard (not those
    #: of the dashboard itself: its page asks once a second).
    connectionEvents = True

    def __init__(
        self,
        wrappedFactory: Factory,
        serviceName: str,
        clock: IReactorTime,
        maxConnections: int | None = None,
        maxPerPeer: int | None = None,
        protocol: Callable[..., GuardProtocol] | None = None,
        handshakeTimeout: float | None = HANDSHAKE_TIMEOUT,
        accessLog: AccessLog | None = None,
        monitor: ConnectionMonitor | None = None,
    ) -> None:
        """
        @param accessLog: where connection lines go, and
        @param monitor: what counts connections and events and logs refusals
            and limits hit (L{netlab.monitor}): the daemon gives every service
            the same ones, so that the dashboard sees them all, the access
            log's batches hold every service's lines and the caps on log
            lines about refusals hold over all services together.  By
            default, this service's own.
        """
        super().__init__(wrappedFactory)
        custom = protocol is not None
        if custom:  # a GuardProtocol with more to do (netlab.lab)
            self.protocol = protocol
        self.serviceName = serviceName
        self.clock = clock
        self.maxConnections = maxConnections or None
        self.maxPerPeer = maxPerPeer or None
        self.handshakeTimeout = handshakeTimeout or None
        self.perPeer: Counter[str] = Counter()
        self._accessLog = accessLog or AccessLog(clock)
        self.monitor = monitor or ConnectionMonitor(clock, counting=False)
        self.monitor.watch(self.protocols)
        self._drained: list[defer.Deferred[None]] = []
        # A service whose connections end as soon as they are answered (Day/Time)
        # is not wrapped (netlab.oneshot), unless the wrapper has more to do; it
        # gets one log line per connection, at its end, instead of two.
        built = getattr(wrappedFactory, "protocol", None)
        self.oneShot = not custom and isinstance(built, type) and issubclass(built, OneShotProtocol)
        self.oneShotsOpen = 0

    def logPrefix(self) -> str:
        """
        What Twisted's lines about this factory's ports name it by: the
        service (C{echo (SimpleFactory) starting on 21571}).
        """
        return f"{self.serviceName} ({type(self.wrappedFactory).__name__})"

    def buildProtocol(self, addr: IAddress) -> Protocol | None:
        """
        Build the service's protocol, or a refusal if a limit is reached.
        """
        host = peerHost(addr)
        key = None if host is None else peerKey(host)
        reason = self._overLimit(key)
        if reason is not None:
            self._logRefusal(addr, key, reason)
            refusal = TooManyConnections()
            refusal.factory = self
            return refusal
        if self.oneShot:
            oneShot = self.wrappedFactory.buildProtocol(addr)
            oneShot.guard, oneShot.peerKey, oneShot.peer = self, key, addr
            if key is not None:
                self.perPeer[key] += 1
            self.oneShotsOpen += 1
            return oneShot
        return super().buildProtocol(addr)

    def registerProtocol(self, p: GuardProtocol) -> None:
        super().registerProtocol(p)
        peer = p.getPeer()
        host = peerHost(peer)
        if host is not None:
            p.peerKey = peerKey(host)
            self.perPeer[p.peerKey] += 1
        self.monitor.opened(p)
        self._accessLog.add(CONNECTED, self.serviceName, peer)
        if self.connectionEvents and self.monitor.counting:
            self.monitor.event(CONNECT, self.serviceName, describePeer(peer), "connected")

    def oneShotLost(self, p: OneShotProtocol, served: bool = True) -> None:
        """
        A one-shot connection (L{netlab.oneshot}) has closed, C{served} or
        not (a TLS peer gone before its handshake finished got nothing).
        """
        self.oneShotsOpen -= 1
        self._forget(p.peerKey)
        self._accessLog.add(SERVED if served else UNSERVED, self.serviceName, p.peer)
        if self.connectionEvents and self.monitor.counting:
            what = "served" if served else "gone before its TLS handshake finished"
            self.monitor.event(DISCONNECT, self.serviceName, p.peerText, what)

    def unregisterProtocol(self, p: GuardProtocol) -> None:
        super().unregisterProtocol(p)
        self._forget(p.peerKey)
        peer = p.getPeer()
        self._accessLog.add(DISCONNECTED, p.serviceName, peer)
        if self.connectionEvents and self.monitor.counting:
            self.monitor.event(
                DISCONNECT, p.serviceName, describePeer(peer), "disconnected", memberName(p.member)
            )
        if not self.protocols:
            drained, self._drained = self._drained, []
            for d in drained:
                d.callback(None)

    def _forget(self, key: str | None) -> None:
        if key is not None:
            self.perPeer[key] -= 1
            if not self.perPeer[key]:
                del self.perPeer[key]

    def shutdown(self, grace: float = SHUTDOWN_GRACE) -> defer.Deferred[None]:
        """
        Ask every open connection to say goodbye and close; fire when all have
        closed or after C{grace} seconds, whichever comes first.

        A protocol says goodbye in its C{serverShutdown()} method if it has one;
        others are simply closed.
        """
        for wrapper in list(self.protocols):
            goodbye: Callable[[], None] | None = getattr(
                wrapper.wrappedProtocol, "serverShutdown", None
            )
            if goodbye is not None:
                goodbye()
            else:
                wrapper.loseConnection()
        if not self.protocols:
            return defer.succeed(None)
        drained: defer.Deferred[None] = defer.Deferred()
        self._drained.append(drained)
        drained.addTimeout(grace, self.clock, onTimeoutCancel=lambda *_: self._abortAll())
        return drained

    def _abortAll(self) -> None:
        """
        Drop whoever is still connected when the grace period is over.
        """
        for wrapper in list(self.protocols):
            wrapper.transport.abortConnection()

    def _overLimit(self, host: str | None) -> str | None:
        if (
            self.maxConnections is not None
            and len(self.protocols) + self.oneShotsOpen >= self.maxConnections
        ):
            return f"{self.maxConnections} connections"
        if (
            self.maxPerPeer is not None
            and host is not None
            and self.perPeer[host] >= self.maxPerPeer
        ):
            return f"{self.maxPerPeer} connections from one {'/64' if '/' in host else 'peer'}"
        return None

    def _logRefusal(self, addr: IAddress, host: str | None, reason: str) -> None:
        self.monitor.refused(
            self.serviceName, describePeer(addr), host, f"limit of {reason} reached"
        )
