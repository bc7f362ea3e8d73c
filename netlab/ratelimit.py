"""
Token buckets: the one rate limiter every netlab service uses.

A rate is written the way the options take it: C{"5/s,20"} means five events a
second with bursts of twenty; C{"0"} means no limit.  Time always comes from the
caller (an C{IReactorTime.seconds()} value), so tests drive it with a
L{twisted.internet.task.Clock}.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|m|min)\s*(?:,\s*(\d+)\s*)?$", re.ASCII)


@dataclass(frozen=True)
class Rate:
    """
    A sustained rate (events per second) and a burst size.

    @ivar perSecond: tokens added each second.
    @ivar burst: the bucket's capacity: how many events may come at once.
    """

    perSecond: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """
        Parse C{"N/s[,BURST]"} or C{"N/m[,BURST]"}; C{"0"} (no limit) gives L{None}.

        @raise ValueError: with a message that says what is accepted.
        """
        if text.strip() in ("0", "off", "none"):
            return None
        match = _RATE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate like 5/s,20 (or 0 for no limit)")
        count, unit, burst = match.groups()
        perSecond = float(count) / (1 if unit == "s" else 60)
        if perSecond <= 0:
            raise ValueError(f"{text!r}: the rate must be positive (or 0 for no limit)")
        size = int(burst) if burst is not None else max(1, int(perSecond))
        if size < 1:
            raise ValueError(f"{text!r}: the burst must be at least 1")
        return cls(perSecond, size)

    def __str__(self) -> str:
        """
        The rate as L{parse} reads it: C{5/s,20}.
        """
        if self.perSecond < 1:
            return f"{self.perSecond * 60:g}/m,{self.burst}"
        return f"{self.perSecond:g}/s,{self.burst}"


class TokenBucket:
    """
    A bucket that holds up to C{rate.burst} tokens and refills at C{rate.perSecond}.
    """

    __slots__ = ("rate", "tokens", "stamp")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.burst)
        self.stamp = now

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """
        Take C{cost} tokens if there are that many; say whether the event may go ahead.
        """
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def take(self, now: float, most: int) -> int:
        """
        Take as many whole tokens as there are, up to C{most}; say how many.
        """
        self._refill(now)
        taken = min(most, int(self.tokens))
        self.tokens -= taken
        return taken

    def wait(self, now: float, cost: float = 1.0) -> float:
        """
        Seconds until the bucket holds C{cost} tokens (0 if it does now); a
        cost above the burst counts as the burst.
        """
        self._refill(now)
        cost = min(cost, float(self.rate.burst))
        return max(0.0, (cost - self.tokens) / self.rate.perSecond)

    def full(self, now: float) -> bool:
        """
        Whether the bucket has refilled completely, i.e. it remembers nothing.
        """
        self._refill(now)
        return self.tokens >= self.rate.burst

    def _refill(self, now: float) -> None:
        elapsed = now - self.stamp
        if elapsed > 0:
            self.tokens = min(float(self.rate.burst), self.tokens + elapsed * self.rate.perSecond)
        self.stamp = now


class KeyedLimiter:
    """
    One token bucket per key (for example a peer's address), with bounded memory
    and O(1) work per event.

    The buckets are kept least recently used first.  When the table holds
    C{maxKeys}, a new key may replace the least recently used bucket if that
    one has refilled (a full bucket carries no information); if even that one
    has not, the table is busy with live keys and the new key's event is
    refused: a flood from more addresses than we track is answered by nobody
    rather than by everybody.
    """

    def __init__(self, rate: Rate, maxKeys: int = 10_000) -> None:
        self.rate = rate
        self.maxKeys = maxKeys
        self._buckets: OrderedDict[object, TokenBucket] = OrderedDict()

    def allow(self, key: object, now: float, cost: float = 1.0) -> bool:
        """
        Take C{cost} tokens (one by default) from C{key}'s bucket.
        """
        bucket = self.bucket(key, now)
        return bucket is not None and bucket.allow(now, cost)

    def bucket(self, key: object, now: float) -> TokenBucket | None:
        """
        C{key}'s bucket, made if need be; L{None} if the table is full of
        buckets that still remember something.
        """
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= self.maxKeys:
                oldest = next(iter(buckets.values()))
                if not oldest.full(now):
                    return None
                buckets.popitem(last=False)
            bucket = buckets[key] = TokenBucket(self.rate, now)
        else:
            buckets.move_to_end(key)
        return bucket

    def __len__(self) -> int:
        return len(self._buckets)
