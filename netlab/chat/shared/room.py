"""
One chat room across many daemons (L{IChatRoom}), ordered by a log they
share (L{IRoomLog}: a Redis Stream).

Nothing a member does reaches anyone directly: it is appended to the log, and
every daemon -- this one included -- delivers what it reads back to its own
members, in the log's order.  So everybody, on every daemon, sees the same
messages in the same order.  This daemon's members, their send queues, the
fan-out and the idle sweep are those of an in-process L{ChatRoom}
(C{local}); the roster of everyone comes from the log too.

What the log says is handled by L{RoomEntries}, which also names the
entries' fields.  A name is claimed in the log, atomically, with the entry that announces it,
so two daemons cannot both give it out; a line goes out only while its
sender's name is still its daemon's.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from netlab.chat.interfaces import PENDING, IChatMember, IChatRoom, NotSentError
from netlab.chat.names import nameKey
from netlab.chat.room import ANNOUNCE_LIMIT, HISTORY, ChatRoom
from netlab.chat.shared.entries import LINK_LOST, RoomEntries
from netlab.chat.shared.interfaces import IRoomLog, IRoomLogListener, Op
from netlab.chat.shared.roster import RemoteMember, Roster
from netlab.fanout import ParallelSend

#: What a member is told when its line cannot wait for the link.
NOT_SENT = "room link down, not sent"


@implementer(IChatRoom, IRoomLogListener)
class SharedRoom(RoomEntries):
    """
    This daemon's part of a room kept in a shared log.

    @ivar local: this daemon's members, their fan-out and idle sweep.
    @ivar roster: everyone's names, with the daemon that owns each.
    """

    def __init__(
        self,
        clock: IReactorTime,
        log: IRoomLog,
        history: int = HISTORY,
        announceLimit: int = ANNOUNCE_LIMIT,
        idleTimeout: float | None = None,
        sender: ParallelSend | None = None,
    ) -> None:
        self.local = ChatRoom(clock, history, announceLimit, idleTimeout, sender)
        self.log = log
        self.daemon: str = log.daemon
        self.roster = Roster()
        self.closed = False
        self._serials: dict[IChatMember, int] = {}
        self._members: dict[int, IChatMember] = {}
        self._nextSerial = 0
        self._lost = False
        self._joins: dict[int, Op] = {}  # joined while the link was down, said nothing yet
        self._unsent: set[int] = set()  # joined while the link was down
        self._reclaimed: set[int] = set()  # claiming their names again
        self._renaming: dict[int, str] = {}  # asked for a new name: which
        self._wanted: set[str] = set()  # (those names' keys)
        self.watchEntries(clock)
        log.attach(self)

    def __len__(self) -> int:
        return len(self.roster)

    # Members of this daemon

    def join(self, member: IChatMember, name: str | None = None) -> str:
        name = self._uniqueName(name) if name else self._guestName()
        self._nextSerial += 1
        serial = self._nextSerial
        self._serials[member] = serial
        self._members[serial] = member
        self.local.settle()  # (what was said before it came is not for it)
        self.local.members[nameKey(name)] = member
        self.roster.add(name, self.daemon)
        op = self._claim(member, serial, name)
        if not self.log.up:  # cancelled if it leaves, silent, before the link is back
            self._joins[serial] = op
            self._unsent.add(serial)
        if self._lost:  # (after its welcome)
            self.local.clock.callLater(0, self._tellLinkDown, member)
        return name

    def _tellLinkDown(self, member: IChatMember) -> None:
        if self._lost and member.name is not None and member in self._serials:
            member.sendMessage(LINK_LOST)

    def leave(self, member: IChatMember, reason: str | None = None) -> None:
        name = member.name
        serial = self._serials.pop(member, None)
        if name is None or serial is None:
            return
        del self._members[serial]
        self._renamed(serial)
        self._reclaimed.discard(serial)
        self.local.settle()  # (what was said while it was here is for it)
        self.local.members.pop(nameKey(name), None)
        self.roster.remove(name)
        joined = self._joins.pop(serial, None)
        if joined is not None and self.log.cancel(joined):
            return  # nobody else ever heard of it
        if self.closed and not reason:
            reason = "server shutting down"
        fields = {"t": "leave", "a": name, "x": reason or ""}
        self.log.publish(Op(fields, member=serial, release=nameKey(name)))

    def rename(self, member: IChatMember, new: str) -> str | None:
        """
        Ask the log for C{new}: the member is renamed when the log's entry
        comes back, in the room's order (L{RoomEntries.entry_nick}), or told
        the name is taken.
        """
        old = member.name
        serial = self._serials.get(member)
        if old is None or serial is None:
            return "you are not in the room"
        held = self.roster.get(nameKey(new))
        if nameKey(new) in self._wanted or (
            held is not None
            and (held[0] != self.daemon or self.local.members.get(nameKey(new)) is not member)
        ):
            return f"the name {new} is taken"
        if not self.log.up:
            return "the link to the shared room is down; try again soon"
        if serial in self._renaming:
            return "your last /nick is not done yet; try again"

        def refused() -> None:  # another daemon's member has the name
            if self._renaming.get(serial) == new:
                self._renamed(serial)
                member.sendError(f"the name {new} is taken")

        self._renaming[serial] = new
        self._wanted.add(nameKey(new))
        release = nameKey(old) if nameKey(old) != nameKey(new) else ""
        fields = {"t": "nick", "o": old, "a": new, "m": str(serial)}
        op = Op(fields, serial, claim=nameKey(new), name=new, release=release, refused=refused)
        self.log.publish(op)
        return PENDING

    def _renamed(self, serial: int) -> None:
        """
        The log answered a member's /nick: the name it asked for is no longer wanted.
        """
        new = self._renaming.pop(serial, None)
        if new is not None:
            self._wanted.discard(nameKey(new))

    def find(self, name: str, asker: IChatMember | None = None) -> IChatMember | None:
        member = self.local.members.get(nameKey(name))
        if member is not None:
            return member
        known = self.roster.get(nameKey(name))
        if known is None:
            return None
        sender = nameKey(asker.name) if asker is not None and asker.name else ""
        return RemoteMember(known[1], lambda kind, to, text: self._sendTo(kind, to, text, sender))

    def names(self) -> list[str]:
        return self.roster.names()

    def recent(self) -> list[bytes]:
        return self.local.recent()

    def broadcast(
        self, text: str, exclude: IChatMember | None = None, remember: bool = True
    ) -> None:
        if self.closed:
            return
        serial = self._serials.get(exclude, 0) if exclude is not None else 0
        fields = {"t": "line", "x": text, "m": str(serial), "h": "1" if remember else ""}
        check = nameKey(exclude.name) if exclude is not None and exclude.name else ""

        def refused() -> None:  # its name was taken while this daemon was cut off
            if exclude is not None and exclude.name is not None:
                exclude.sendError("your name was lost with the link; not sent")

        def failed(error: str) -> None:  # e.g. Redis is out of memory
            if exclude is not None and exclude.name is not None:
                exclude.sendError(f"the shared room's Redis refused it ({error[:60]})")

        op = Op(fields, serial, check=check, held=True, refused=refused, failed=failed)
        if self.log.publish(op):
            self._joins.pop(serial, None)  # it said something: its join stays
        elif exclude is not None:
            exclude.sendError(NOT_SENT)

    def settle(self) -> None:
        self.local.settle()

    def markDirty(self, member: IChatMember) -> None:
        self.local.markDirty(member)

    def flush(self) -> None:
        """
        Flush every member that asked, now.
        """
        self.local.flush()

    def watchIdle(self) -> None:
        self.local.watchIdle()

    def close(self) -> None:
        self.closed = True
        self.local.close()

    def _guestName(self) -> str:
        while True:
            name = f"guest-{self.log.guestNumber()}"
            if nameKey(name) not in self.roster and nameKey(name) not in self._wanted:
                return name

    def _uniqueName(self, name: str) -> str:
        candidate, number = name, 1
        while nameKey(candidate) in self.roster or nameKey(candidate) in self._wanted:
            number += 1
            candidate = f"{name}-{number}"
        return candidate

    def _claim(
        self, member: IChatMember, serial: int, name: str, first: bool = False, again: bool = False
    ) -> Op:
        """
        Claim C{name} for C{member}, announcing that it joined (or, C{again},
        that it is back after the log lost it); if another daemon has the
        name, give the member a fresh one and claim that.
        """

        def refused() -> None:
            if member.name == name and self._serials.get(member) == serial:
                self._giveFreshName(member, name, f"the name {name} is taken on another server")

        fields = {"t": "join", "a": name, "m": str(serial)}
        if again:
            fields["r"] = "1"
            self._reclaimed.add(serial)
        op = Op(fields, serial, claim=nameKey(name), name=name, refused=refused)
        self.log.publish(op, first=first)
        return op

    def _giveFreshName(self, member: IChatMember, name: str, why: str) -> None:
        self.local.members.pop(nameKey(name), None)
        fresh = self._guestName()
        self.local.members[nameKey(fresh)] = member
        self.roster.add(fresh, self.daemon)
        member.renamed(fresh, why)
        self._claim(member, self._serials[member], fresh, first=True)

    def _sendTo(self, kind: str, name: str, text: str, sender: str) -> None:
        """
        Publish something for one member of another daemon, from the member
        whose name key is C{sender} (which must still be this daemon's).

        @raise NotSentError: if it cannot wait for the link.
        """
        op = Op({"t": kind, "to": nameKey(name), "x": text}, check=sender, held=True)
        if not self.log.publish(op):
            raise NotSentError(NOT_SENT)
