"""
What the teacher's dashboard sees of one connection: a mixin for the guard's
wrapper (L{netlab.guard.GuardProtocol}), which every connection passes.

It counts bytes and messages each way, keeps when the peer was last heard
from and, with C{--trace}, a L{netlab.trace.WireTrace}; it says which service,
transport and member the connection is (a web connection becomes a chat or
Doctor member: L{MonitoredConnection.becomeMember}); and it hands the limits
the peer hits to the monitor (L{netlab.monitor.ConnectionMonitor.limitHit}).
The service's protocol finds it as its transport's C{monitored}.

The counts cost memory (about 125 bytes a connection: an instance's
dictionary grows by a size class past ten attribute names), so they are kept
only while a dashboard can show them: L{ConnectionMonitor.opened} then sets
C{connectionId}, and until it does nothing is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netlab.address import describePeer
from netlab.monitor import LIMIT
from netlab.trace import WireTrace


class MonitoredConnection:
    """
    The dashboard's side of a connection wrapper, which provides C{factory}
    (with C{clock}, C{serviceName} and C{monitor}), C{wrappedProtocol} and
    C{getPeer}.

    @ivar member: the protocol whose C{name} and C{mode} the dashboard shows
        (the service's protocol; a WebSocket's member once it is one).
    @ivar rawTrace: whether the trace keeps the bytes as they pass here (a
        WebSocket keeps its messages instead: L{netlab.web.stream}).
    @ivar meter: if set, told the size of every read once it was handled
        (a WebSocket bounds what it buffers with it).
    """

    factory: Any
    wrappedProtocol: Any
    connectionId = 0  # 0: not counted (no dashboard to show the counts)
    since = lastReceived = 0.0
    bytesIn = bytesOut = messagesIn = messagesOut = 0
    trace: WireTrace | None = None
    rawTrace = True
    meter: Callable[[int], None] | None = None
    transportName = "tcp"
    _member: Any = None
    _serviceName: str | None = None

    @property
    def monitored(self) -> MonitoredConnection:
        """
        The connection whose counts the service's messages and limits go to: this one.
        """
        return self

    @property
    def peerText(self) -> str:
        """
        The peer as log lines show it (L{netlab.address.describePeer}).
        """
        return describePeer(self.getPeer())  # type: ignore[attr-defined]

    @property
    def member(self) -> Any:
        return self.wrappedProtocol if self._member is None else self._member

    @property
    def serviceName(self) -> str:
        """
        The service the connection is with (the factory's, unless a web
        connection became a chat or Doctor member).
        """
        return self._serviceName or self.factory.serviceName

    @property
    def modeName(self) -> str | None:
        """
        How the peer frames its messages: C{line}, C{lockstep}, C{websocket}
        or L{None} (not known, or not a conversational service).
        """
        if self.transportName == "websocket":
            return "websocket"
        return getattr(self.member, "mode", None)

    def becomeMember(self, service: str, member: Any, transportName: str) -> None:
        """
        This (web) connection is now C{member} of C{service}, over C{transportName}.
        """
        self._serviceName, self._member, self.transportName = service, member, transportName

    def received(self, data: bytes) -> None:
        """
        Count C{data} as received from the peer.
        """
        if self.connectionId:
            self.bytesIn += len(data)
            self.lastReceived = now = self.factory.clock.seconds()
            if self.trace is not None and self.rawTrace:
                self.trace.received.add(now, data)

    def wrote(self, data: bytes) -> None:
        """
        Count C{data} as sent (also when it went to the socket directly:
        L{netlab.writethrough}).  A message is a line, or a write without one.
        """
        if not self.connectionId:
            return
        self.bytesOut += len(data)
        self.messagesOut += data.count(b"\n") or 1
        if self.trace is not None and self.rawTrace:
            self.trace.sent.add(self.factory.clock.seconds(), data)

    def messageReceived(self) -> None:
        """
        The service took one whole message from the peer.
        """
        if self.connectionId:
            self.messagesIn += 1

    def limitHit(self, text: str, kind: str = LIMIT, perAddress: bool = False) -> None:
        """
        The peer hit a limit (C{text} as it was told): an event and a log line
        (throttled per address, and per chat name unless C{perAddress}).
        """
        self.factory.monitor.limitHit(self, text, kind, perAddress)
