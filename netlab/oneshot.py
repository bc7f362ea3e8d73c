"""
Services that answer a connection at once and close it: Day/Time, Quote of
the Day, Time.  Their protocols share L{OneShotProtocol}: say C{reply()}, and
it writes the reply and closes, as C{twisted.protocols.wire.QOTD} does.

Behind the daemon's guard (L{netlab.guard}) every other service's connection
is wrapped in a C{ProtocolWrapper} that counts it, logs it and gives its close
a deadline.  For a connection that lives one reactor turn that wrapper cost
more than the answer (a Day/Time server's CPU per connection was 1.6x a bare
Twisted server's).  A one-shot protocol is not wrapped: the guard's factory
builds it, counts it and hands it to the guard (C{guard}), and the protocol
says when it is gone (C{guard.oneShotLost}).  What a wrapper would do is done
here, at the price of a few attribute lookups:

  - on plain TCP the close needs no deadline: the reply (a few hundred bytes
    at most) goes into the socket's send buffer at the next turn whatever
    the peer does, and the kernel finishes the close;
  - otherwise (TLS, UNIX sockets) the close gets one: the guard's handshake
    timeout while a TLS handshake is not finished, L{CLOSE_GRACE} after,
    and the connection is cut when it passes.

(Sending the reply straight to the socket, as the chat does, cost more here:
15-20% more CPU per connection than leaving it to the transport's next turn,
measured with C{benchmarks/build/daytime_storm} at 128 connections.)
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IAddress, IDelayedCall, IHandshakeListener, INegotiated
from twisted.internet.protocol import Protocol
from zope.interface import implementer

from netlab.address import describePeer
from netlab.writethrough import directSocket

#: How long a close may wait for the peer to take what was written before the
#: connection is cut, in seconds: a one-shot's, and every guarded connection's
#: (L{netlab.guard.GuardProtocol.loseConnection}).
CLOSE_GRACE = 10.0


@implementer(IHandshakeListener)
class OneShotProtocol(Protocol):
    """
    Write C{reply()} and close.

    @ivar guard: the guard's factory that built this connection and counts
        it, or L{None} when the protocol is used on its own.
    @ivar peerKey: what the guard's per-peer limits count the peer by.
    @ivar peer: the peer's address, as the guard was given it.
    """

    guard: Any = None  # (a netlab.guard.GuardFactory, which imports this module)
    peerKey: str | None = None
    peer: IAddress | None = None
    member: Any = None  # (what the monitor names in its lines: nobody)
    _deadline: IDelayedCall | None = None
    _negotiating = False

    def reply(self) -> bytes:
        """
        What to send: the service's answer.
        """
        raise NotImplementedError

    def connectionMade(self) -> None:
        data = self.reply()
        transport = self.transport
        guard = self.guard
        plain = guard is None or directSocket(transport) is not None
        transport.write(data)
        transport.loseConnection()
        if plain:
            return
        if INegotiated.providedBy(transport) and guard.handshakeTimeout:
            self._negotiating = True
            self._deadline = guard.clock.callLater(guard.handshakeTimeout, self._tooSlow)
        else:
            self._deadline = guard.clock.callLater(CLOSE_GRACE, self._tooSlow)

    def handshakeCompleted(self) -> None:
        self._negotiating = False
        if self._deadline is not None and self._deadline.active():
            self._deadline.reset(CLOSE_GRACE)  # (the reply can go from now on)

    def _tooSlow(self) -> None:
        guard = self.guard
        assert guard is not None
        if self._negotiating:
            what = f"TLS handshake not finished in {guard.handshakeTimeout:g} s"
        else:
            what = f"reply not taken in {CLOSE_GRACE:g} s"
        guard.monitor.limitHit(self, f"{what}, connection cut")
        self.transport.abortConnection()

    def connectionLost(self, reason: object = None) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        if self.guard is not None:
            self.guard.oneShotLost(self, served=not self._negotiating)

    # What the guard's monitor names in its lines about this connection.

    @property
    def serviceName(self) -> str:
        assert self.guard is not None
        return self.guard.serviceName

    @property
    def peerText(self) -> str:
        return describePeer(self.peer)
