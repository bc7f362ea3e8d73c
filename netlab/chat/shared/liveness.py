"""
What each daemon keeps up in Redis besides the log (L{Liveness}, mixed into
L{netlab.chat.shared.redislog.RedisRoomLog}): its heartbeat, the search for
daemons whose heartbeat expired (their names are freed, L{scripts.REAP}),
and blocks of guest numbers from the room's counter.
"""

from __future__ import annotations

from collections import deque

from twisted.internet import defer
from twisted.logger import Logger

from netlab.chat.shared.connection import RedisConnection
from netlab.chat.shared.interfaces import IRoomLogListener
from netlab.logthrottle import ThrottledLog

log = Logger(namespace="netlab")

#: Seconds between heartbeats (and looks for lost daemons).
BEAT = 2.0

#: Guest numbers taken from the room's counter at once: small blocks keep
#: the numbers of a small class small (each daemon takes its own block).
GUEST_BLOCK = 8

#: The biggest block taken, once guests arrive faster than small blocks come.
MAX_GUEST_BLOCK = 1024


class Liveness:
    """
    Heartbeats, lost daemons and guest numbers.  The log provides the
    attributes below and C{key}.
    """

    reactor: object
    daemon: str
    prefix: str
    namesKey: str
    streamKey: str
    maxlen: str
    ttl: float
    up: bool
    commands: RedisConnection
    _listener: IRoomLogListener | None
    _sha: dict[str, str]
    _upSince: float
    _guests: deque[int]
    _takingGuests: bool
    _guestBlock: int
    _missing: dict[str, float]
    _forgotten: bool
    _errors: ThrottledLog

    def _announce(self, redis) -> defer.Deferred:
        """
        Set this daemon's heartbeat; the Deferred fires with the one it
        replaced (L{None} if there was none).
        """
        milliseconds = str(int(self.ttl * 1000))
        key = self.key(self.daemon)
        return redis.execute_command("SET", key, self.daemon, "PX", milliseconds, "GET")

    def _heartbeat(self) -> None:
        redis = self.commands.protocol
        if not self.up or redis is None:
            return
        beat = self._announce(redis)
        beat.addCallback(self._beaten)
        beat.addErrback(lambda _: None)
        now = self.reactor.seconds()
        if now - self._upSince < self.ttl:
            return  # (after a Redis restart, the others may not have announced themselves yet)
        owners = self._listener.owners() if self._listener is not None else set()
        for daemon in list(self._missing):
            if daemon not in owners:
                del self._missing[daemon]
        for daemon in owners:
            alive = redis.execute_command("EXISTS", self.key(daemon))
            alive.addCallback(self._reapIfGone, daemon, redis, now)
            alive.addErrback(lambda _: None)

    def _beaten(self, before) -> None:
        """
        Our heartbeat was gone before we renewed it: Redis forgot us (its keys
        were flushed, or we were too slow): catch up as after a restart, and
        claim our members' names again.
        """
        if before is None and self.up:
            self._errors.warn("forgotten", "Redis lost this daemon's keys; catching up")
            self._forgotten = True
            self.commands.abort()

    def _reapIfGone(self, alive, daemon: str, redis, now: float) -> defer.Deferred | None:
        if int(alive):
            self._missing.pop(daemon, None)
            return None
        # A live daemon renews its heartbeat every BEAT seconds: one missing
        # for longer than two of them (not just once: its keys may have
        # been flushed a moment ago) is gone.
        since = self._missing.setdefault(daemon, now)
        if now - since < 2.5 * BEAT:
            return None
        del self._missing[daemon]
        reaped = redis.execute_command(
            "EVALSHA",
            self._sha["reap"],
            "3",
            self.namesKey,
            self.streamKey,
            self.key(daemon),
            daemon,
            self.maxlen,
            "server lost",
        )
        return reaped.addCallback(self._reaped, daemon)

    def _reaped(self, names, daemon: str) -> None:
        if not isinstance(names, list):  # its heartbeat came back meanwhile
            return
        log.warn("daemon {daemon} of the shared room is gone", daemon=daemon)
        if self._listener is not None:
            self._listener.daemonLost(daemon, names)

    def _takeGuests(self) -> None:
        redis = self.commands.protocol
        if redis is None or self._takingGuests:
            return
        self._takingGuests = True
        block = self._guestBlock
        taken = redis.execute_command("INCRBY", self.prefix + "guests", str(block))
        taken.addCallback(self._tookGuests, block)
        taken.addErrback(lambda _: None)
        taken.addBoth(lambda _: setattr(self, "_takingGuests", False))

    def _tookGuests(self, last, block: int) -> None:
        last = int(last)
        self._guests.extend(range(last - block + 1, last + 1))
