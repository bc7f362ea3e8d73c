"""
Every connection's line in the log, at a price a storm of connections can pay.

One line through twistd's log observer costs about as much as serving a
Day/Time connection (an event, a timestamp formatted with its time zone, the
text formatted, a write: ~60 µs on the benchmark machine).  Throttled, as the
daemon once did, a storm logged almost nothing; unthrottled, logging doubled
the cost of every connection.

L{AccessLog} does what busy web servers do with their access logs: it keeps
the lines and writes them in batches, one log event per batch, at most
L{FLUSH_DELAY} seconds after the first of them (or once L{BATCH_LINES} have
come, or when the daemon stops).  Every connection still has its own line, in
the order the connections came and went; the first line of a batch carries
the log's timestamp and the rest follow below it, indented, as twistd writes
any event of several lines:

    2026-12-02T16:40:00+0000 [netlab#info] daytime: served 127.0.0.1:40001
    \tdaytime: served 127.0.0.1:40002
    \tchat: connection from [::1]:50312

A line costs an append now and its text when the batch is written.  Peers
cannot forge lines: what a peer chooses (a UNIX socket's name) is escaped by
L{netlab.address.describePeer}.

Nor can a storm fill the disk: full lines are written at up to L{FULL_LINES}
(a burst of 50,000, then 100 a second; a class never comes near).  Past that a
batch's lines are counted per address instead, one line for each of the
L{MOST_COUNTED} busiest and one for the rest:

    daytime: served 127.0.0.1 5,213 more times (counted, not written one by one: ...)

so the log grows by at most ~150 lines a second, and every connection is
still in it, one by one or counted.
"""

from __future__ import annotations

from collections import Counter

from twisted.application.service import Service
from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.logger import Logger

from netlab.address import describePeer, peerHost, peerKey
from netlab.ratelimit import Rate, TokenBucket

log = Logger(namespace="netlab")

#: How long a line may wait for its batch to be written, in seconds.
FLUSH_DELAY = 0.25

#: Lines written in one event at most: a batch this long is written at once.
BATCH_LINES = 1000

#: Lines written in full: a burst, then this many a second, over all services.
FULL_LINES = Rate(100.0, 50_000)

#: Addresses counted on lines of their own in a batch past L{FULL_LINES}.
MOST_COUNTED = 10

#: What the lines say, by kind of line...
CONNECTED = "{service}: connection from {peer}"
DISCONNECTED = "{service}: {peer} disconnected"
SERVED = "{service}: served {peer}"
UNSERVED = "{service}: {peer} gone before its TLS handshake finished (not served)"

#: ... and what they say when counted.
COUNTED = {
    CONNECTED: "{service}: {count:,} more connections from {peer}",
    DISCONNECTED: "{service}: {peer} disconnected {count:,} more times",
    SERVED: "{service}: served {peer} {count:,} more times",
    UNSERVED: "{service}: {peer} gone {count:,} more times before its TLS handshake finished",
}
WHY_COUNTED = " (counted, not written one by one: more than {rate:g} connection lines a second)"


class AccessLog(Service):
    """
    Connection lines, written in batches (see the module's description).

    A L{Service} so that the daemon writes the last batch when it stops
    (C{stopsLast}: after the listeners, whose connections close first).
    """

    name = "access log"
    stopsLast = True

    def __init__(self, clock: IReactorTime, logger: Logger = log) -> None:
        self.clock = clock
        self.logger = logger
        self._lines: list[tuple[str, str, IAddress | None]] = []
        self._flushCall: IDelayedCall | None = None
        self._full = TokenBucket(FULL_LINES, clock.seconds())

    def add(self, line: str, service: str, peer: IAddress | None) -> None:
        """
        Log one connection's C{line} (L{CONNECTED}, L{DISCONNECTED} or
        L{SERVED}) about C{service} and its C{peer}, with the next batch.
        """
        self._lines.append((line, service, peer))
        if len(self._lines) >= BATCH_LINES:
            self.flush()
        elif self._flushCall is None:
            self._flushCall = self.clock.callLater(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        """
        Write the lines kept so far, as one log event.
        """
        if self._flushCall is not None:
            if self._flushCall.active():
                self._flushCall.cancel()
            self._flushCall = None
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        full = self._full.take(self.clock.seconds(), len(lines))
        text = [
            line.format(service=service, peer=describePeer(peer))
            for line, service, peer in lines[:full]
        ]
        if full < len(lines):
            text += _counted(lines[full:])
        self.logger.info("{lines}", lines="\n".join(text))

    def stopService(self) -> None:
        super().stopService()
        self.flush()


def _counted(lines: list[tuple[str, str, IAddress | None]]) -> list[str]:
    """
    C{lines}, counted per kind, service and address (an IPv6 address's
    /64): a line for each of the L{MOST_COUNTED} most frequent, one for the rest.
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    for line, service, peer in lines:
        host = peerHost(peer)
        counts[line, service, "unix" if host is None else peerKey(host)] += 1
    ranked = counts.most_common()
    text = [
        COUNTED[line].format(service=service, peer=key, count=count)
        for (line, service, key), count in ranked[:MOST_COUNTED]
    ]
    text[0] += WHY_COUNTED.format(rate=FULL_LINES.perSecond)
    rest = ranked[MOST_COUNTED:]
    if rest:
        others = sum(count for _, count in rest)
        text.append(f"... and {others:,} more connection lines about {len(rest):,} other addresses")
    return text
