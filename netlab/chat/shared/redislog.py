"""
A shared room's log in Redis (L{IRoomLog}): one Stream per room, a hash of its
names, and a heartbeat key per daemon.

  - Appending (L{publish}) runs L{scripts.PUBLISH} on a command connection;
    ops wait in order while the link is down -- members' lines at most
    C{hold} of them -- and go out when it is back.  Each entry carries this
    daemon's id and a sequence number, so that one sent twice (the link died
    before its reply) is delivered once.
  - Reading is C{XREAD BLOCK} on a connection of its own, from the last ID
    delivered, so a daemon that reconnects misses nothing still in the stream.
  - Every L{BEAT} seconds the daemon renews its heartbeat (it expires after
    C{ttl}) and looks for daemons whose heartbeat expired; their names are
    freed, each announced as gone (L{scripts.REAP}).
"""

from __future__ import annotations

import os
import random
import socket
from collections import deque

import txredisapi
from twisted.application.service import Service
from twisted.internet import defer, task
from twisted.logger import Logger
from zope.interface import implementer

from netlab.chat.shared import DEFAULT_ROOM, HOLD
from netlab.chat.shared.address import RedisAddress
from netlab.chat.shared.connection import RedisConnection
from netlab.chat.shared.interfaces import IRoomLog, IRoomLogListener, Op
from netlab.chat.shared.liveness import BEAT, GUEST_BLOCK, MAX_GUEST_BLOCK, Liveness
from netlab.chat.shared.outbox import Outbox
from netlab.chat.shared.reader import INTACT, NEW, TRIMMED, StreamPosition
from netlab.chat.shared.scripts import PUBLISH, REAP
from netlab.chat.shared.streamid import parseInfo, text
from netlab.logthrottle import ThrottledLog

log = Logger(namespace="netlab")

#: Entries the stream keeps (about: C{MAXLEN ~}); also how far behind a
#: daemon may fall (a long outage) and still catch up on everything.
MAXLEN = 100_000

#: Seconds a daemon's heartbeat lives; once it has expired, the daemon's
#: members are dropped.
TTL = 10.0

#: How long one XREAD waits for entries, in milliseconds; a read that takes
#: much longer than that means the link is dead.
BLOCK_MS = 5000

#: Entries read at once: enough to keep up with any room, few enough that
#: delivering them to thousands of members does not hold the reactor long.
READ_COUNT = 256

#: Seconds before reading again after Redis refused a read.
READ_RETRY = 1.0

#: The newest entries looked at, on the first connection, for newcomers' history.
HISTORY_SCAN = 1000

#: How long stopping may wait for Redis, in seconds: for what is still to be
#: published, then to take the heartbeat away.
STOP_WAIT = 2.0

#: Ops sent to Redis and not yet answered, at most: more go as it answers.
#: (Thousands at once, after an outage, kept the reactor busy and Redis's
#: answers late enough for the link to be taken for dead, again and again.)
IN_FLIGHT = 512


@implementer(IRoomLog)
class RedisRoomLog(Service, Liveness):
    """
    A room's log in Redis, and this daemon's two connections to it.

    @ivar daemon: this process's id in the room.
    @ivar up: whether both connections are ready and caught up.
    """

    #: L{netlab.server.NetlabService} stops it after the listeners, so that
    #: the members' goodbyes are published before the link closes.
    stopsLast = True

    #: The option that asked for it, for messages.
    option = "--chat-redis"

    def __init__(
        self,
        address: RedisAddress,
        reactor,
        room: str = DEFAULT_ROOM,
        hold: int = HOLD,
        maxlen: int = MAXLEN,
        ttl: float = TTL,
    ) -> None:
        self.address = address
        self.reactor = reactor
        self.room = room
        self.maxlen = str(maxlen)
        self.ttl = ttl
        host = socket.gethostname().replace("\t", " ")
        self.daemon = f"{host}:{os.getpid()}:{random.getrandbits(32):08x}"
        prefix = f"netlab:room:{room}:"
        self.prefix = prefix
        self.namesKey, self.streamKey = prefix + "names", prefix + "log"
        self.up = False
        self._listener: IRoomLogListener | None = None
        self.outbox = Outbox(self.daemon, hold)
        self.position = StreamPosition()
        self._runId: str | None = None
        self._guests: deque[int] = deque()
        self._takingGuests = False
        self._guestBlock = GUEST_BLOCK
        self._generation = 0
        self._upSince = 0.0
        self._drained: list[defer.Deferred[None]] = []
        self._errors = ThrottledLog(reactor)
        self._missing: dict[str, float] = {}  # daemons without a heartbeat: since when
        self._forgotten = False  # our heartbeat vanished (FLUSHALL): catch up as after a restart
        self._sha: dict[str, str] = {}
        self.commands = RedisConnection(address, reactor, self._ready, self._lost, self._refused)
        self.reader = RedisConnection(
            address, reactor, self._ready, self._lost, self._refused, replyTimeout=None
        )
        self._beat = task.LoopingCall(self._heartbeat)
        self._beat.clock = reactor

    def key(self, daemon: str) -> str:
        """
        The heartbeat key of C{daemon}.
        """
        return f"{self.prefix}daemon:{daemon}"

    # IRoomLog

    def attach(self, listener: IRoomLogListener) -> None:
        self._listener = listener

    def publish(self, op: Op, first: bool = False) -> bool:
        if not self.outbox.add(op, first):
            return False
        if self.up:
            self._send()
        return True

    def cancel(self, op: Op) -> bool:
        return self.outbox.cancel(op)

    def guestNumber(self) -> int:
        if len(self._guests) <= self._guestBlock // 2 and self.up:
            self._takeGuests()
        if self._guests:
            return self._guests.popleft()
        # Out of numbers (the link is not up yet, or a crowd arrived): take
        # bigger blocks from now on, and make do with one nobody is likely
        # to have.
        self._guestBlock = min(self._guestBlock * 4, MAX_GUEST_BLOCK)
        return random.randrange(100_000, 1_000_000)

    # Starting and stopping

    def probe(self) -> None:
        """
        Make sure Redis answers, before the daemon starts (blocking).

        @raise OSError: saying why it does not.
        """
        try:
            self.address.probe()
        except OSError as e:
            reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
            raise OSError(f"cannot reach Redis: {reason}") from None

    def startService(self) -> None:
        super().startService()
        self.commands.start()
        self.reader.start()
        self._beat.start(BEAT, now=False)

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()
        if not self.up and self.outbox.waiting():
            log.warn(
                "stopping with {count} line(s) for the shared room not sent (Redis out of reach)",
                count=self.outbox.waiting(),
            )
        if self._beat.running:
            self._beat.stop()
        done = defer.succeed(None)
        if self.up and len(self.outbox):
            drained: defer.Deferred[None] = defer.Deferred()
            self._drained.append(drained)
            drained.addTimeout(STOP_WAIT * 0.75, self.reactor, onTimeoutCancel=lambda *_: None)
            done = drained
        done.addCallback(lambda _: self._goodbye())
        done.addCallback(lambda _: defer.gatherResults([self.commands.stop(), self.reader.stop()]))
        done.addErrback(lambda f: log.failure("stopping the shared room", f))
        return done

    def _goodbye(self) -> defer.Deferred | None:
        """
        Take this daemon's heartbeat away at once, rather than let it expire.
        """
        if not self.up or self.commands.protocol is None:
            return None
        gone = self.commands.protocol.execute_command("DEL", self.key(self.daemon))
        gone.addTimeout(STOP_WAIT * 0.25, self.reactor)
        return gone.addErrback(lambda _: None)

    # The link

    def _refused(self, why: str) -> None:
        log.error("--chat-redis {address}: {why}", address=str(self.address), why=why)

    def _ready(self, protocol: txredisapi.RedisProtocol) -> None:
        if self.commands.protocol is not None and self.reader.protocol is not None:
            self._generation += 1
            self._resync(self._generation).addErrback(self._resyncFailed)

    def _lost(self) -> None:
        self._generation += 1
        self.commands.abort()  # both go: they come back together, and catch up
        self.reader.abort()
        self.outbox.linkLost()
        if self.up:
            self.up = False
            if not self.running:  # stopping: closed on purpose
                return
            log.warn(
                "lost the link to Redis at {address}; reconnecting",
                address=str(self.address),
            )
            if self._listener is not None:
                self._listener.linkLost()

    def _resyncFailed(self, failure) -> None:
        if not failure.check(txredisapi.ConnectionError, defer.CancelledError):
            self._errors.warn(
                "resync", "cannot catch up with Redis at {address}: {error}",
                address=str(self.address), error=repr(failure.value)[:200],
            )  # fmt: skip
        self.commands.abort()

    @defer.inlineCallbacks
    def _resync(self, generation: int):
        """
        Both connections are ready: load the scripts, announce this daemon,
        read the names, find where to read from, then publish what waits.
        """
        redis = self.commands.protocol
        for name, script in (("publish", PUBLISH), ("reap", REAP)):
            self._sha[name] = yield redis.execute_command("SCRIPT", "LOAD", script)
        info = yield redis.execute_command("INFO", "server")
        runId = dict(line.split(":", 1) for line in info.splitlines() if ":" in line).get("run_id")
        restarted = (self._runId is not None and runId != self._runId) or self._forgotten
        self._forgotten = False
        if restarted:
            log.warn("Redis at {address} restarted", address=str(self.address))
        self._runId = runId
        yield self._announce(redis)
        flat = yield redis.execute_command("HGETALL", self.namesKey)
        names = {}
        for key, value in zip(flat[::2], flat[1::2], strict=False):
            owner, _, name = text(value).partition("\t")
            names[text(key)] = (owner, name)
        try:
            stream = parseInfo((yield redis.execute_command("XINFO", "STREAM", self.streamKey)))
        except txredisapi.ResponseError:  # no stream yet (or Redis restarted empty)
            stream = {}
        history: list[dict[str, str]] = []
        found = NEW
        if self.position.lastId is None:
            history = self.position.start(
                (yield redis.execute_command(
                    "XREVRANGE", self.streamKey, "+", "-", "COUNT", str(HISTORY_SCAN)
                ))
            )  # fmt: skip
        else:
            found = self.position.resume(stream)
            lastId = self.position.lastId
            if found == INTACT and restarted:  # others may have written a new stream already
                kept = yield redis.execute_command("XRANGE", self.streamKey, lastId, lastId)
                if not kept:
                    found = self.position.restart()
            if found == TRIMMED and self._listener is not None:
                self._listener.entriesMissed()
        if generation != self._generation:
            return
        self.up = True
        self._upSince = self.reactor.seconds()
        log.info(
            "the shared room {room} is on Redis at {address}",
            room=self.room,
            address=str(self.address),
        )
        if self._listener is not None:
            # (Read on from where we were, the stream tells all that happened.)
            self._listener.linkRestored(None if found == INTACT else names, history)
        self._send()
        self._takeGuests()
        self._read(generation)

    # Publishing

    def _send(self) -> None:
        redis = self.commands.protocol
        if redis is None:
            return
        generation = self._generation
        for op in self.outbox.toSend(IN_FLIGHT - self.outbox.inFlight()):
            args = [op.claim, op.name, op.release, op.check, self.maxlen]
            for field, value in op.fields.items():
                args += (field, value)
            try:
                sent = redis.execute_command(
                    "EVALSHA", self._sha["publish"], "2", self.namesKey, self.streamKey,
                    self.daemon, *args,
                )  # fmt: skip
            except txredisapi.RedisError:  # not connected after all: it goes again later
                self.outbox.unsend(op)
                return
            sent.addCallbacks(
                self._published,
                self._publishFailed,
                callbackArgs=(generation,),
                errbackArgs=(generation,),
            )

    def _published(self, result, generation: int) -> None:
        if generation != self._generation:
            return
        op = self.outbox.answered()
        if op is not None and result in (0, "0") and op.refused is not None:
            op.refused()
        self._sendMore()

    def _sendMore(self) -> None:
        """
        Redis answered an op: send more, and tell whoever waits for the
        outbox to empty (stopping) when it has.
        """
        if self.outbox.inFlight() < IN_FLIGHT // 2 and self.up:
            self._send()  # (more, as Redis answers)
        if not self.outbox:
            drained, self._drained = self._drained, []
            for d in drained:
                d.callback(None)

    def _publishFailed(self, failure, generation: int) -> None:
        if generation != self._generation:
            return None
        if failure.check(txredisapi.ResponseError):  # e.g. Redis out of memory: not sent
            error = str(failure.value)[:200]
            self._errors.warn("publish", "Redis refused an entry of the shared room: {error}",
                              error=error)  # fmt: skip
            op = self.outbox.answered()
            if op is not None and op.failed is not None:
                op.failed(error)
            self._sendMore()
        return None  # (if the link is gone, _lost keeps the op for later)

    # Reading

    def _read(self, generation: int) -> None:
        redis = self.reader.protocol
        if redis is None or generation != self._generation:
            return
        reading = redis.execute_command(
            "XREAD",
            "COUNT",
            str(READ_COUNT),
            "BLOCK",
            str(BLOCK_MS),
            "STREAMS",
            self.streamKey,
            self.position.lastId,
            apply_timeout=False,
        )
        watchdog = self.reactor.callLater(BLOCK_MS / 1000 * 3, self.reader.abort)
        reading.addBoth(lambda result: (watchdog.active() and watchdog.cancel(), result)[1])
        reading.addCallbacks(
            self._entriesRead,
            self._readFailed,
            callbackArgs=(generation,),
            errbackArgs=(generation,),
        )

    def _readFailed(self, failure, generation: int) -> None:
        """
        Redis answered the read with an error (the stream's key holds something
        else; someone ran C{CLIENT UNBLOCK ... ERROR}): say so, and read again
        in a moment.  A lost link is L{_lost}'s.
        """
        if generation != self._generation or not failure.check(txredisapi.ResponseError):
            return
        self._errors.warn("read", "Redis refused to read the shared room: {error}",
                          error=str(failure.value)[:200])  # fmt: skip
        self.reactor.callLater(READ_RETRY, self._read, generation)

    def _entriesRead(self, reply, generation: int) -> None:
        if generation != self._generation:
            return
        try:
            fresh = self.position.take(reply[0][1]) if reply else []
            if fresh and self._listener is not None:
                self._listener.entriesReceived(fresh)
        finally:  # whatever is in the stream, reading goes on
            self._read(generation)
