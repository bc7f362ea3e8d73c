"""
A shared room's log in memory (L{IRoomLog}), for tests: a L{MemoryRedis}
shared by the simulated daemons, and a L{MemoryRoomLog} on it for each.

Nothing happens by itself: ops wait until the test calls L{MemoryRedis.pump},
and links go down and up when it says so.  What is done to the names and the
stream mirrors the Lua of L{netlab.chat.shared.scripts} step for step; the
order, numbering, C{hold} bound and resending of ops are the real log's own
L{Outbox}.
"""

from __future__ import annotations

from collections import deque

from zope.interface import implementer

from netlab.chat.shared import HOLD
from netlab.chat.shared.interfaces import IRoomLog, IRoomLogListener, Op
from netlab.chat.shared.outbox import Outbox

#: The newest entries that are history on a first connection (the real log's).
HISTORY_SCAN = 1000

#: Rounds of L{MemoryRedis.pump} after which the room is taken to be looping.
PUMP_ROUNDS = 100


class MemoryRedis:
    """
    One Redis, as the shared room's scripts see it.

    @ivar names: the names hash: name key -> (owner daemon, name as shown).
    @ivar entries: the stream, oldest first.
    @ivar guests: the room's guest counter.
    @ivar beating: the daemons whose heartbeat has not expired.
    @ivar logs: every daemon's log on this Redis, in the order they were made.
    """

    def __init__(self) -> None:
        self.names: dict[str, tuple[str, str]] = {}
        self.entries: list[dict[str, str]] = []
        self.guests = 0
        self.beating: set[str] = set()
        self.logs: list[MemoryRoomLog] = []

    def publish(self, daemon: str, op: Op) -> bool:
        """
        L{scripts.PUBLISH}: check, claim and release C{op}'s names for
        C{daemon} and append its entry, or refuse it.

        @return: whether it was appended (the script's 0 is L{False}).
        """

        def theirs(key: str) -> bool:  # the script's owner(key) == false
            owner = self.names.get(key)
            return owner is not None and owner[0] != daemon

        if op.check and theirs(op.check):
            return False
        if op.claim:
            if theirs(op.claim):
                return False
            self.names[op.claim] = (daemon, op.name)
        if op.release and op.release != op.claim and self.names.get(op.release, ("",))[0] == daemon:
            del self.names[op.release]
        self.entries.append(dict(op.fields))
        return True

    def reap(self, daemon: str, reason: str = "server lost") -> list[str]:
        """
        L{scripts.REAP}: unless C{daemon}'s heartbeat is still there, free its
        names, each with a C{leave} entry that has no sequence number.

        @return: the names freed.
        """
        if daemon in self.beating:
            return []
        gone = []
        for key, (owner, name) in list(self.names.items()):
            if owner == daemon:
                del self.names[key]
                self.entries.append({"t": "leave", "d": daemon, "a": name, "x": reason})
                gone.append(name)
        return gone

    def expire(self, daemon: str) -> None:
        """
        C{daemon}'s heartbeat expires.
        """
        self.beating.discard(daemon)

    def pump(self) -> None:
        """
        Let every daemon whose link is up send what waits, then read what is
        new, until nobody has more to do.  The logs send in the order they
        were made: the first one's claim wins a race.
        """
        for _ in range(PUMP_ROUNDS):
            sent = [log.send() for log in self.logs]
            read = [log.read() for log in self.logs]
            if not any(sent + read):
                return
        raise AssertionError(f"the room is still busy after {PUMP_ROUNDS} rounds")

    def restart(self) -> None:
        """
        Redis restarts empty: every link drops (L{MemoryRoomLog.linkUp} brings
        each back), and every key is gone; logs read the new stream from its start.
        """
        for log in self.logs:
            log.linkDown()
            if log.position is not None:
                log.position = 0
                log.restarted = True
        self.names.clear()
        self.entries.clear()
        self.guests = 0
        self.beating.clear()


@implementer(IRoomLog)
class MemoryRoomLog:
    """
    One daemon's log on a L{MemoryRedis}; its link starts down.

    @ivar outbox: what waits to be appended, as in the real log.
    @ivar position: how many entries it has read (L{None} before it first connects).
    """

    def __init__(self, store: MemoryRedis, daemon: str, hold: int = HOLD) -> None:
        self.store = store
        self.daemon = daemon
        self.up = False
        self.outbox = Outbox(daemon, hold)
        self.position: int | None = None
        self.restarted = False  # Redis restarted empty since it last read
        self._listener: IRoomLogListener | None = None  # (attached by the room)
        self._sent: deque[Op] = deque()  # handed to Redis, not yet run
        store.logs.append(self)

    # IRoomLog

    def attach(self, listener: IRoomLogListener) -> None:
        self._listener = listener

    def publish(self, op: Op, first: bool = False) -> bool:
        if not self.outbox.add(op, first):
            return False
        if self.up:
            self._sent.extend(self.outbox.toSend())
        return True

    def cancel(self, op: Op) -> bool:
        return self.outbox.cancel(op)

    def guestNumber(self) -> int:
        self.store.guests += 1
        return self.store.guests

    # The link

    def linkUp(self) -> None:
        """
        The link comes (back) up, as in the real log: the heartbeat is set, the
        listener gets the names (and, the first time only, the newest entries
        as history), then what waits is sent.
        """
        if self.up:
            return
        self.store.beating.add(self.daemon)
        history: list[dict[str, str]] = []
        names: dict | None = None  # (reading on, the entries tell what changed)
        if self.position is None:
            history = [dict(entry) for entry in self.store.entries[-HISTORY_SCAN:]]
            self.position = len(self.store.entries)
            names = dict(self.store.names)
        elif self.restarted:
            names = dict(self.store.names)
        self.restarted = False
        self.up = True
        self._listener.linkRestored(names, history)
        self._sent.extend(self.outbox.toSend())

    def linkDown(self) -> None:
        """
        The link is lost: what was sent and not yet run goes again, first,
        once it is back.  (The heartbeat stays until L{MemoryRedis.expire}.)
        """
        if not self.up:
            return
        self.up = False
        self._sent.clear()
        self.outbox.linkLost()
        self._listener.linkLost()

    # Redis's side

    def send(self) -> bool:
        """
        Run what this daemon sent, in order (L{MemoryRedis.publish}), and
        answer each: a refused op's C{refused} is called.

        @return: whether anything was run.
        """
        ran = self.up and bool(self._sent)
        while self.up and self._sent:
            op = self._sent.popleft()
            appended = self.store.publish(self.daemon, op)
            answered = self.outbox.answered()
            assert answered is op, "answers come in the order the ops were sent"
            if not appended and op.refused is not None:
                op.refused()
        return ran

    def read(self) -> bool:
        """
        Hand the listener the entries after the last it got, in order (as
        C{XREAD} from the last ID).

        @return: whether there were any.
        """
        if not self.up or self.position is None:
            return False
        fresh = [dict(entry) for entry in self.store.entries[self.position :]]
        self.position = len(self.store.entries)
        if fresh:
            self._listener.entriesReceived(fresh)
        return bool(fresh)

    def reap(self, daemon: str) -> list[str]:
        """
        The real log's heartbeat loop looks at C{daemon}: if the link is up
        and C{daemon}'s heartbeat is gone, L{MemoryRedis.reap} it and tell the
        listener (L{IRoomLogListener.daemonLost}).

        @return: the names freed in the log.
        """
        if not self.up or daemon in self.store.beating:
            return []
        released = self.store.reap(daemon)
        self._listener.daemonLost(daemon, released)
        return released
