"""
What the teacher's dashboard shows: every open connection of every service,
and what happened lately -- connects, disconnects, refusals, limits hit, kicks.

Each connection is counted where all of them pass: the guard's wrapper
(L{netlab.guard.GuardProtocol}) counts bytes and messages each way, keeps the
time of its last input and, with C{--trace SIZE}, a L{netlab.trace.WireTrace}.
L{ConnectionMonitor} holds no per-connection state of its own: it lists the
connections of the guards it watches, and it keeps the recent events (a
bounded ring) and logs every refusal and limit hit -- one line each, throttled
per peer and kind (L{netlab.logthrottle.ThrottledLog}), naming the service,
the peer and, in the chat, the person.

A connection, as the monitor reads it, has: C{connectionId}, C{since},
C{lastReceived}, C{bytesIn}, C{bytesOut}, C{messagesIn}, C{messagesOut},
C{trace}, C{peerText}, C{peerKey}, C{serviceName}, C{transportName} and
C{member} (the protocol whose C{name} and C{mode} are shown).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from twisted.internet.interfaces import IReactorTime

from netlab.logthrottle import ThrottledLog
from netlab.trace import WireTrace

#: How many events are kept for the dashboard (the oldest go first).
KEEP_EVENTS = 1000

#: An event's fields, as the API names them.
EVENT_FIELDS = ("seq", "t", "kind", "service", "peer", "name", "text")

#: The kinds of event, as the API names them.
CONNECT, DISCONNECT, REFUSED, LIMIT, KICK, TIMEOUT = (
    "connect", "disconnect", "refused", "limit", "kick", "timeout",
)


class ConnectionMonitor:
    """
    The daemon's view of its connections and its recent events.

    @ivar traceSize: bytes each way every connection's wire trace keeps
        (0: no traces).
    @ivar counting: whether connections are numbered and counted and events
        kept; without a dashboard to show them, they are not (it costs
        memory).  Refusals and limits are logged either way.
    """

    def __init__(self, clock: IReactorTime, log: ThrottledLog | None = None,
                 traceSize: int = 0, keepEvents: int = KEEP_EVENTS,
                 counting: bool = True) -> None:
        self.clock = clock
        self.traceSize = traceSize
        self.counting = counting or bool(traceSize)
        self._log = log or ThrottledLog(clock)
        self._ids = itertools.count(1)
        self._groups: list[Iterable[Any]] = []
        # (seq, time, kind, service, peer, name, text): tuples, not dicts,
        # as a thousand of them are kept whatever the load.
        self._events: deque[tuple] = deque(maxlen=keepEvents)
        self._seq = 0

    # Connections

    def watch(self, connections: Iterable[Any]) -> None:
        """
        List C{connections} (a live collection, such as a guard's
        C{protocols}) among the open connections.
        """
        self._groups.append(connections)

    def opened(self, connection: Any) -> None:
        """
        Number a new connection, start its counts and its trace (if the
        monitor counts).
        """
        if not self.counting:
            return
        connection.connectionId = next(self._ids)
        connection.since = connection.lastReceived = self.clock.seconds()
        if self.traceSize:
            connection.trace = WireTrace(self.traceSize)

    def connections(self) -> Iterator[Any]:
        """
        Every open connection, oldest first within each service.
        """
        for group in self._groups:
            yield from sorted(group, key=lambda c: getattr(c, "connectionId", 0))

    def find(self, connectionId: int) -> Any | None:
        """
        The open connection numbered C{connectionId}, if there is one.
        """
        for connection in self.connections():
            if getattr(connection, "connectionId", None) == connectionId:
                return connection
        return None

    def describe(self, connection: Any) -> dict[str, Any]:
        """
        One connection as the dashboard's API gives it.
        """
        member = connection.member
        return {
            "id": connection.connectionId,
            "service": connection.serviceName,
            "transport": connection.transportName,
            "peer": connection.peerText,
            "name": memberName(member),
            "mode": connection.modeName,
            "bytes_in": connection.bytesIn,
            "bytes_out": connection.bytesOut,
            "messages_in": connection.messagesIn,
            "messages_out": connection.messagesOut,
            "since": connection.since,
            "idle": max(self.clock.seconds() - connection.lastReceived, 0.0),
            "traced": connection.trace is not None,
        }

    # Events

    def event(self, kind: str, service: str, peer: str, text: str,
              name: str | None = None) -> None:
        """
        Record one event for the dashboard (not logged); none if the monitor
        does not count.
        """
        if not self.counting:
            return
        self._seq += 1
        self._events.append((self._seq, self.clock.seconds(), kind, service, peer, name, text))

    def refused(self, service: str, peer: str, peerKey: str | None, text: str) -> None:
        """
        A connection or a request was refused: one event, one throttled log line.
        """
        self.event(REFUSED, service, peer, text)
        self._log.warn(
            _logKey(peerKey, REFUSED), "{service}: refused {peer}: {text}",
            service=service, peer=peer, text=text,
        )

    def limitHit(
        self, connection: Any, text: str, kind: str = LIMIT, perAddress: bool = False
    ) -> None:
        """
        C{connection} hit a limit (C{text} says which, as its peer was told):
        one event, one throttled log line naming the service, the peer and,
        in the chat, the person.  Lines are throttled per address and kind,
        and per person too (students behind one address are kicked one by
        one) unless C{perAddress} (an address's hundred connections slowed
        down at once are one line).
        """
        name = memberName(connection.member)
        service, peer = connection.serviceName, connection.peerText
        self.event(kind, service, peer, text, name)
        self._log.warn(
            _logKey(connection.peerKey, text) + ("" if perAddress else f" {name}"),
            "{service}: {peer}{who}: {text}",
            service=service, peer=peer, who=f" ({name})" if name else "", text=text,
        )

    def eventsAfter(self, seq: int, limit: int = KEEP_EVENTS) -> list[dict[str, Any]]:
        """
        The kept events numbered above C{seq}, oldest first, at most the
        newest C{limit} of them.
        """
        if seq >= self._seq:
            return []
        newer = [event for event in self._events if event[0] > seq][-limit:]
        return [dict(zip(EVENT_FIELDS, event, strict=True)) for event in newer]

    @property
    def lastEvent(self) -> int:
        """
        The number of the newest event (0 before any).
        """
        return self._seq


def memberName(member: Any) -> str | None:
    """
    A chat member's name, or the name it had if it has left (L{None} for
    anything else).
    """
    return getattr(member, "name", None) or getattr(member, "formerName", None)


def _logKey(peerKey: str | None, text: str) -> str:
    """
    What log lines are throttled by: the peer, and the kind of line (its
    first word), so one limit's lines do not hide another's (and, for a
    limit, the chat name: students behind one address are kicked one by one).
    """
    return f"{peerKey or 'local'} {text.split(' ', 1)[0]}"
