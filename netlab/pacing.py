"""
Flood control for one connection: messages beyond its rate wait, they are not
lost.

This is the flood control of RFC 1459 (section 8.10), which IRC servers have
used since 1993: a client may send a burst, and then its messages are handled
at a sustained rate; what it sends beyond that waits in its own socket buffer
(TCP back-pressure) instead of costing the server work.  So a flood costs the
daemon no more than the rate, whatever the flooder sends -- blank lines and
lines that will be refused count like any other -- and a student who pastes
fifty lines sees them all arrive, at the rate, after one notice.

A connection's rate does not bound an address that opens many connections, so
a service may also give every address a share (L{AddressShare}): lines and
bytes per second over all the address's connections.  The chat room uses it so
that no single address can push more into the room than a member reading at a
modest speed takes out.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

from netlab.ratelimit import KeyedLimiter, Rate, TokenBucket

#: The least time between two notices (C{ERR slow down ...}) to one client.
NOTICE_INTERVAL = 10.0


class Pacer:
    """
    The pace of one connection: its own rate, and its address's share.

    @ivar rate: the connection's sustained rate and burst, or L{None}.
    """

    __slots__ = ("rate", "_bucket", "_noticeAt", "_why")

    def __init__(self, rate: Rate | None, clock: IReactorTime) -> None:
        self.rate = rate
        self._bucket = TokenBucket(rate, clock.seconds()) if rate is not None else None
        self._noticeAt: float | None = None
        self._why = ""

    def delay(
        self, now: float, share: AddressShare | None = None, key: str = "", size: int = 0
    ) -> float:
        """
        How long the next message (C{size} bytes, from address C{key}) must
        wait: 0 if it may be handled now (and then it is counted against the
        connection's rate and the address's C{share}), otherwise the seconds
        until it may.
        """
        bucket = self._bucket
        if bucket is not None:
            wait = bucket.wait(now)
            if wait:
                self._why = f"lines beyond {bucket.rate.perSecond:g} a second wait their turn"
                return max(wait, 0.001)
        if share is not None:
            wait = share.delay(key, size, now)
            if wait:
                self._why = "your address sends more than its share; lines wait their turn"
                return wait
        if bucket is not None:
            bucket.allow(now)
        return 0.0

    def notice(self, now: float) -> str | None:
        """
        What to tell the client about a message that waits, at most once per
        L{NOTICE_INTERVAL}; L{None} when it was told recently.
        """
        if self._noticeAt is not None and now - self._noticeAt < NOTICE_INTERVAL:
            return None
        self._noticeAt = now
        return f"slow down: {self._why}"


#: How long a message waits when the share table is full of live addresses.
FULL_TABLE_WAIT = 1.0


class AddressShare:
    """
    What one address (an IPv4 address or IPv6 /64) may send to a service, over
    all its connections: lines per second and bytes per second, each with a
    burst.  Addresses are tracked in bounded tables (L{KeyedLimiter}).
    """

    def __init__(
        self, lines: Rate | None, bytesPerSecond: int | None, maxKeys: int = 10_000
    ) -> None:
        """
        @param lines: lines per second and the burst, or L{None} for no limit.
        @param bytesPerSecond: bytes per second, with bursts of four seconds'
            worth, or L{None} (or 0) for no limit.
        @param maxKeys: how many addresses are tracked at once.
        """
        self.lines = lines
        self.bytesPerSecond = bytesPerSecond or None
        self._lines = KeyedLimiter(lines, maxKeys) if lines else None
        self._bytes = None
        if self.bytesPerSecond:
            rate = Rate(float(self.bytesPerSecond), 4 * self.bytesPerSecond)
            self._bytes = KeyedLimiter(rate, maxKeys)

    def delay(self, key: str, size: int, now: float) -> float:
        """
        How long a message of C{size} bytes from address C{key} must wait: 0 if
        it may be handled now (and then it is counted), otherwise the seconds
        until it may.
        """
        lines = self._lines.bucket(key, now) if self._lines is not None else None
        sizes = self._bytes.bucket(key, now) if self._bytes is not None else None
        if (self._lines is not None and lines is None) or (
            self._bytes is not None and sizes is None
        ):
            return FULL_TABLE_WAIT
        wait = max(
            lines.wait(now) if lines is not None else 0.0,
            sizes.wait(now, size) if sizes is not None else 0.0,
        )
        if wait:
            return max(wait, 0.001)
        if lines is not None:
            lines.allow(now)
        if sizes is not None:
            sizes.allow(now, min(size, sizes.rate.burst))
        return 0.0
