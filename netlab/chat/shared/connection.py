"""
One connection to Redis, kept open: Twisted's L{ClientService} reconnects it
with backoff, on the daemon's reactor, and tells its owner each time it is
ready (authenticated, database selected) and each time it is lost.

txredisapi (L{txredisapi.RedisProtocol}) speaks Redis's protocol; its own
connection pool is not used: it schedules on the global reactor and does not
say when a link goes down, which the shared room must know at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import txredisapi
from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure

from netlab.chat.shared.address import RedisAddress

log = Logger(namespace="netlab")

#: Reconnection delays: from a quarter second, doubling, at most 2 seconds,
#: each plus up to a quarter second at random (so that many daemons do not
#: all come back in the same instant).
RETRY = backoffPolicy(
    initialDelay=0.25, maxDelay=2.0, factor=2.0, jitter=lambda: random.uniform(0, 0.25)
)

#: How long a command may wait for its reply before the link counts as lost.
REPLY_TIMEOUT = 5.0


class _RedisProtocol(txredisapi.RedisProtocol):
    """
    txredisapi's protocol, told the daemon's clock, and telling its
    connection when it is lost.
    """

    factory: _RedisFactory

    def connectionMade(self):
        # Commands are small and go one after another: without TCP_NODELAY,
        # Nagle's algorithm held each behind the previous one's ACK.
        setNoDelay = getattr(self.transport, "setTcpNoDelay", None)
        if setNoDelay is not None:
            setNoDelay(True)
        return super().connectionMade()

    def connectionLost(self, why: Failure) -> None:
        super().connectionLost(why)
        self.factory.connection._lost(self)


class _RedisFactory(Factory):
    """
    Builds the protocols of one L{RedisConnection}; also what
    L{txredisapi.RedisProtocol} asks of its factory when Redis refuses it.
    """

    isLazy = False
    noisy = False

    def __init__(self, connection: RedisConnection) -> None:
        self.connection = connection

    def buildProtocol(self, addr) -> _RedisProtocol:
        address = self.connection.address
        protocol = _RedisProtocol(
            "utf-8",
            errors="replace",
            replyTimeout=self.connection.replyTimeout,
            password=address.password,
            dbid=address.db or None,
            convertNumbers=False,  # a chat line "42" stays a string
            username=address.username,
        )
        protocol.callLater = self.connection.reactor.callLater
        protocol.factory = self
        return protocol

    def stopTrying(self) -> None:
        """
        Redis refused us (a wrong password, a database it does not have):
        keep trying, with backoff, in case it is being fixed.
        """

    def connectionError(self, why: str) -> None:
        self.connection.refused(why)


class _QuietClientService(ClientService):
    """
    A L{ClientService} that does not log every attempt: a line a second would
    flood the log in a long outage; the room logs the outage once.
    """

    _log = Logger(observer=lambda event: None)


class RedisConnection:
    """
    One connection to Redis, reconnected whenever it is lost.

    @ivar protocol: the connection, while it is ready; else L{None}.
    """

    def __init__(
        self,
        address: RedisAddress,
        reactor,
        ready: Callable[[txredisapi.RedisProtocol], None],
        lost: Callable[[], None],
        refused: Callable[[str], None],
        replyTimeout: float | None = REPLY_TIMEOUT,
    ) -> None:
        self.address = address
        self.reactor = reactor
        self.replyTimeout = replyTimeout
        self.protocol: txredisapi.RedisProtocol | None = None
        self._ready = ready
        self._onLost = lost
        self.refused = refused
        self._service = _QuietClientService(
            address.endpoint(reactor), _RedisFactory(self), retryPolicy=RETRY, clock=reactor
        )

    def start(self) -> None:
        """
        Connect, and keep connecting.
        """
        self._service.startService()
        self._wait()

    def stop(self) -> defer.Deferred[None]:
        """
        Close the connection and stop reconnecting.
        """
        return defer.maybeDeferred(self._service.stopService)

    def abort(self) -> None:
        """
        Drop the connection now (it is replaced after the usual delay).
        """
        protocol, self.protocol = self.protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.abortConnection()

    def _wait(self) -> None:
        connected = self._service.whenConnected()
        connected.addCallback(lambda protocol: protocol.whenConnected())
        connected.addCallbacks(self._connected, lambda failure: None)

    def _waitIfRunning(self) -> None:
        if self._service.running:
            self._wait()

    def _connected(self, protocol: txredisapi.RedisProtocol) -> None:
        if not protocol.connected:  # lost while it was being set up
            return
        self.protocol = protocol
        self._ready(protocol)

    def _lost(self, protocol: txredisapi.RedisProtocol) -> None:
        wasReady = protocol is self.protocol or self.protocol is None
        if protocol is self.protocol:
            self.protocol = None
        if self._service.running:  # (once the service, told after us, knows too)
            self.reactor.callLater(0, self._waitIfRunning)
        if wasReady:
            self._onLost()
