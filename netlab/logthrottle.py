"""
Warnings that peers cause, throttled: a peer that retries all day, or a flood
of peers, cannot flood the log as well (L{ThrottledLog}: refusals and limits
hit, at most one per peer a minute, with a count of what was left out).

The ordinary lines about connections coming and going are not throttled:
every connection has its line, written in batches (L{netlab.accesslog}).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from netlab.ratelimit import Rate, TokenBucket

log = Logger(namespace="netlab")

#: How often a refused peer is logged, in seconds.
REFUSAL_LOG_INTERVAL = 60.0

#: Peers remembered for throttling their log lines, and log lines that may come
#: at once (then one a second), over all peers of a service.
LOG_PEERS = 10_000
LOG_BURST = 60


class ThrottledLog:
    """
    Warnings about peers, at most one per peer per L{REFUSAL_LOG_INTERVAL}, and
    at most L{LOG_BURST} at once (then one a second) over all peers, with a
    count of what was left out.  The table of peers is an LRU of at most
    L{LOG_PEERS}: O(1) per line.
    """

    def __init__(self, clock: IReactorTime, before: Callable[[], None] | None = None) -> None:
        """
        @param before: called before a warning is written (the access log
            writes the connection lines it holds, so that a warning never
            comes before the line about its connection).
        """
        self.clock = clock
        self._before = before
        self._logged: OrderedDict[str | None, float] = OrderedDict()
        self._budget = TokenBucket(Rate(1.0, LOG_BURST), clock.seconds())
        self._suppressed = 0

    def warn(self, key: str | None, format: str, /, **fields: object) -> None:
        """
        Log C{format} with C{fields} as a warning about the peer C{key} (what
        the per-peer limits count it by, L{None} for peers without an IP
        address), unless that peer or all peers together have had their share.
        """
        now = self.clock.seconds()
        last = self._logged.get(key)
        if last is not None and now - last < REFUSAL_LOG_INTERVAL:
            return
        self._logged[key] = now
        self._logged.move_to_end(key)
        if len(self._logged) > LOG_PEERS:
            self._logged.popitem(last=False)
        if not self._budget.allow(now):
            self._suppressed += 1
            return
        suppressed, self._suppressed = self._suppressed, 0
        if self._before is not None:
            self._before()
        log.warn(
            format
            + " (further such lines for this peer are not logged for {interval:.0f} s"
            + ("; {suppressed} lines about other peers were left out)" if suppressed else ")"),
            interval=REFUSAL_LOG_INTERVAL,
            suppressed=suppressed,
            **fields,
        )
