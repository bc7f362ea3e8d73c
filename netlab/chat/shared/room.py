"""
One chat room across many daemons (L{IChatRoom}), ordered by a log they
share (L{IRoomLog}: a Redis Stream).

Nothing a member does reaches anyone directly: it is appended to the log, and
every daemon -- this one included -- delivers what it reads back to its own
members, in the log's order.  So everybody, on every daemon, sees the same
messages in the same order.  This daemon's members, their send queues, the
fan-out and the idle sweep are those of an in-process L{ChatRoom}
(C{local}); the roster of everyone comes from the log too.

Log entries are flat C{dict}s; C{t} says what happened:

  - C{line}: C{x}, a room message (C{h} = C{"1"}: replayed to newcomers),
    from member C{m} of daemon C{d} (who is not sent it back);
  - C{join}, C{leave} (C{x}: why), C{nick} (C{o} the old name): name C{a};
  - C{msg}, C{err}, C{kick}: C{x} for the member called C{to} alone.

A name is claimed in the log, atomically, with the entry that announces it,
so two daemons cannot both give it out; a line goes out only while its
sender's name is still its daemon's.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from netlab.chat.interfaces import IChatMember, IChatRoom, NotSentError
from netlab.chat.names import NAME, nameKey
from netlab.chat.room import ANNOUNCE_LIMIT, HISTORY, ChatRoom
from netlab.chat.shared.interfaces import IRoomLog, IRoomLogListener, Op
from netlab.chat.shared.roster import RemoteMember, Roster
from netlab.logthrottle import ThrottledLog
from netlab.monitor import KICK

#: What local members are told when the link to the log goes down and returns.
LINK_LOST = "* link to the shared room lost; reconnecting"
LINK_BACK = "* link to the shared room is back"

#: What a member is told when its line cannot wait for the link.
NOT_SENT = "room link down, not sent"


@implementer(IChatRoom, IRoomLogListener)
class SharedRoom:
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
    ) -> None:
        self.local = ChatRoom(clock, history, announceLimit, idleTimeout)
        self.log = log
        self.daemon: str = log.daemon
        self.roster = Roster()
        self.announceLimit = announceLimit
        self.closed = False
        self._serials: dict[IChatMember, int] = {}
        self._members: dict[int, IChatMember] = {}
        self._nextSerial = 0
        self._lost = False
        self._joins: dict[int, Op] = {}  # joined while the link was down, said nothing yet
        self._unsent: set[int] = set()  # joined while the link was down
        self._reclaimed: set[int] = set()  # claiming their names again
        self._badEntries = ThrottledLog(clock)
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
        old = member.name
        serial = self._serials.get(member)
        if old is None or serial is None:
            return "you are not in the room"
        held = self.roster.get(nameKey(new))
        if held is not None and (
            held[0] != self.daemon or self.local.members.get(nameKey(new)) is not member
        ):
            return f"the name {new} is taken"
        if not self.log.up:
            return "the link to the shared room is down; try again soon"
        del self.local.members[nameKey(old)]
        self.local.members[nameKey(new)] = member
        self.roster.remove(old)
        self.roster.add(new, self.daemon)

        def refused() -> None:  # another daemon's member got the name first
            if member.name == new and self._serials.get(member) == serial:
                self.local.members.pop(nameKey(new), None)
                self.local.members[nameKey(old)] = member
                self.roster.add(old, self.daemon)
                member.renamed(old, f"the name {new} was just taken on another server")

        release = nameKey(old) if nameKey(old) != nameKey(new) else ""
        fields = {"t": "nick", "o": old, "a": new, "m": str(serial)}
        op = Op(fields, serial, claim=nameKey(new), name=new, release=release, refused=refused)
        self.log.publish(op)
        return None

    def find(self, name: str) -> IChatMember | None:
        member = self.local.members.get(nameKey(name))
        if member is not None:
            return member
        known = self.roster.get(nameKey(name))
        return None if known is None else RemoteMember(known[1], self._sendTo)

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
        self._joins.pop(serial, None)  # it said something: its join stays
        fields = {"t": "line", "x": text, "m": str(serial), "h": "1" if remember else ""}
        check = nameKey(exclude.name) if exclude is not None and exclude.name else ""

        def refused() -> None:  # its name was taken while this daemon was cut off
            if exclude is not None and exclude.name is not None:
                exclude.sendError("your name was lost with the link; not sent")

        taken = self.log.publish(Op(fields, serial, check=check, held=True, refused=refused))
        if not taken and exclude is not None:
            exclude.sendError(NOT_SENT)

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
            if nameKey(name) not in self.roster:
                return name

    def _uniqueName(self, name: str) -> str:
        candidate, number = name, 1
        while nameKey(candidate) in self.roster:
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

    def _sendTo(self, kind: str, name: str, text: str) -> None:
        """
        Publish something for one member of another daemon.

        @raise NotSentError: if it cannot wait for the link.
        """
        if not self.log.publish(Op({"t": kind, "to": nameKey(name), "x": text}, held=True)):
            raise NotSentError(NOT_SENT)

    # What the log says

    def entriesReceived(self, entries: list[dict[str, str]]) -> None:
        for entry in entries:
            handler = getattr(self, "entry_" + str(entry.get("t", "")), None)
            if handler is None:
                continue
            try:
                handler(entry)
            except Exception as e:  # not written by netlab (Redis is shared): skip it
                self._badEntries.warn(
                    "bad entry",
                    "shared room: skipped an entry netlab cannot read ({error})",
                    error=repr(e)[:200],
                )

    def _sender(self, entry: dict[str, str]) -> IChatMember | None:
        if entry.get("d") != self.daemon:
            return None
        return self._members.get(_serial(entry))

    def _announce(self, text: str, exclude: IChatMember | None, leaving: int = 0) -> None:
        """
        Send a join or leave line while the room (counting whoever is
        C{leaving}) is small enough for that (see L{ChatRoom.announce}).
        """
        if len(self.roster) + leaving <= self.announceLimit:
            self.local.broadcast(text, exclude, remember=False)

    def entry_line(self, entry: dict[str, str]) -> None:
        """
        A room message: to everyone here but its sender.
        """
        self.local.broadcast(entry.get("x", ""), self._sender(entry), bool(entry.get("h")))

    def entry_join(self, entry: dict[str, str]) -> None:
        """
        Someone joined -- or came back with their daemon (C{r}: the name is
        claimed again), which is news only where they were seen to leave.
        """
        name, owner = _name(entry), entry.get("d", "")
        if owner == self.daemon:  # join() and rename() already counted it here
            self._reclaimed.discard(_serial(entry))
            if not entry.get("r"):
                self._announce(f"* {name} has joined", self._sender(entry))
            return
        before = self.roster.add(name, owner)
        self._lostName(name, owner)
        if before is None or before[0] != owner:
            self._announce(f"* {name} has joined", None)

    def entry_leave(self, entry: dict[str, str]) -> None:
        """
        Someone left, or their daemon was lost (an entry without C{n}).
        """
        name, owner = _name(entry), entry.get("d", "")
        reason = entry.get("x")
        text = f"* {name} has left{f' ({reason})' if reason else ''}"
        if owner == self.daemon:  # leave() already counted it here
            mine = self.local.members.get(nameKey(name))
            if "n" in entry:
                self._announce(text, None, leaving=1)
            elif mine is not None and self._serials[mine] not in self._reclaimed:
                # This daemon was taken for lost (its heartbeat expired), but
                # the member is still here: it claims its name again.
                self._claim(mine, self._serials[mine], name, first=True, again=True)
            return
        before = self.roster.get(nameKey(name))
        if before is not None and before[0] == owner:
            self.roster.remove(name)
            self._announce(text, None, leaving=1)

    def entry_nick(self, entry: dict[str, str]) -> None:
        """
        Someone changed their name.
        """
        old, new, owner = _name(entry, "o"), _name(entry), entry.get("d", "")
        if owner != self.daemon:
            self.roster.remove(old)
            self.roster.add(new, owner)
            self._lostName(new, owner)
        if old != new:
            self.local.broadcast(f"* {old} is now known as {new}", self._sender(entry), False)

    def _lostName(self, name: str, owner: str) -> None:
        """
        Another daemon has C{name}: a member here that still thinks it is
        theirs (this daemon was cut off and taken for lost) gets a new one.
        """
        mine = self.local.members.get(nameKey(name))
        if mine is not None and owner != self.daemon:
            self._giveFreshName(mine, name, f"the name {name} went to someone else")

    def _addressed(self, entry: dict[str, str]) -> IChatMember | None:
        return self.local.members.get(entry.get("to", ""))

    def entry_msg(self, entry: dict[str, str]) -> None:
        """
        A private message for a member here.
        """
        member = self._addressed(entry)
        if member is not None:
            member.sendMessage(entry.get("x", ""))

    def entry_err(self, entry: dict[str, str]) -> None:
        """
        An error for a member here (it is being kicked).
        """
        member = self._addressed(entry)
        if member is not None:
            member.sendError(entry.get("x", ""))

    def entry_kick(self, entry: dict[str, str]) -> None:
        """
        The operator (on some daemon) threw out a member here.
        """
        member = self._addressed(entry)
        if member is not None:
            reason = entry.get("x") or None
            member.reportLimit(reason or "kicked", KICK)
            member.close(reason)

    def linkLost(self) -> None:
        if not self._lost:
            self._lost = True
            self.local.broadcast(LINK_LOST, remember=False)

    def linkRestored(
        self, names: dict[str, tuple[str, str]], history: list[dict[str, str]]
    ) -> None:
        for entry in history:
            if entry.get("t") == "line" and entry.get("h"):
                self.local.history.append(entry.get("x", "").encode("utf-8"))
        forgotten = [  # by the log (Redis restarted empty, or took this daemon for lost)
            member
            for key, member in self.local.members.items()
            if key not in names and self._serials[member] not in self._unsent
        ]
        for owner, name in names.values():
            if owner != self.daemon:
                self.roster.add(name, owner)
                self._lostName(name, owner)
        for member in forgotten:
            if member.name is not None:
                self._claim(member, self._serials[member], member.name, first=True, again=True)
        self._joins.clear()
        self._unsent.clear()
        if self._lost:
            self._lost = False
            self.local.broadcast(LINK_BACK, remember=False)

    def entriesMissed(self) -> None:
        self.local.broadcast(
            "* some room messages were lost before this server read them", remember=False
        )

    def owners(self) -> set[str]:
        return self.roster.owners() - {self.daemon}

    def daemonLost(self, daemon: str, released: list[str]) -> None:
        announced = {nameKey(name) for name in released}
        for name in list(self.roster.ownedBy(daemon)):
            if nameKey(name) not in announced:
                self.roster.remove(name)
                self._announce(f"* {name} has left (server lost)", None)


def _name(entry: dict[str, str], field: str = "a") -> str:
    """
    The name in C{field} of an entry.

    @raise ValueError: if it is not a valid name (not an entry netlab wrote).
    """
    name = entry.get(field, "")
    if NAME.fullmatch(name) is None:
        raise ValueError(f"not a name: {name[:40]!r}")
    return name


def _serial(entry: dict[str, str]) -> int:
    """
    The member serial number C{m} of an entry, or 0.
    """
    number = entry.get("m", "")
    return int(number) if number.isdigit() else 0
