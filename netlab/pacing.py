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
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

from netlab.ratelimit import Rate, TokenBucket

#: The least time between two notices (C{ERR slow down ...}) to one client.
NOTICE_INTERVAL = 10.0


class Pacer:
    """
    The pace of one connection's messages.

    @ivar rate: the sustained rate and the burst.
    """

    __slots__ = ("rate", "_bucket", "_noticeAt")

    def __init__(self, rate: Rate, clock: IReactorTime) -> None:
        self.rate = rate
        self._bucket = TokenBucket(rate, clock.seconds())
        self._noticeAt: float | None = None

    def delay(self, now: float) -> float:
        """
        How long the next message must wait: 0 if it may be handled now (and
        then it is counted), otherwise the seconds until it may.
        """
        if self._bucket.allow(now):
            return 0.0
        return max(self._bucket.wait(now), 0.001)

    def notice(self, now: float) -> str | None:
        """
        What to tell the client about a message that waits, at most once per
        L{NOTICE_INTERVAL}; L{None} when it was told recently.
        """
        if self._noticeAt is not None and now - self._noticeAt < NOTICE_INTERVAL:
            return None
        self._noticeAt = now
        return f"slow down: lines beyond {self.rate.perSecond:g} a second wait their turn"
