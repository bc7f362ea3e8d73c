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

log = Logger(namespace="netlab")

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

    def _announce(self, redis) -> defer.Deferred:
        milliseconds = str(int(self.ttl * 1000))
        return redis.execute_command("SET", self.key(self.daemon), self.daemon, "PX", milliseconds)

    def _heartbeat(self) -> None:
        redis = self.commands.protocol
        if not self.up or redis is None:
            return
        self._announce(redis).addErrback(lambda _: None)
        if self.reactor.seconds() - self._upSince < self.ttl:
            return  # (after a Redis restart, the others may not have announced themselves yet)
        for daemon in self._listener.owners() if self._listener is not None else ():
            alive = redis.execute_command("EXISTS", self.key(daemon))
            alive.addCallback(self._reapIfGone, daemon, redis)
            alive.addErrback(lambda _: None)

    def _reapIfGone(self, alive, daemon: str, redis) -> defer.Deferred | None:
        if int(alive):
            return None
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
