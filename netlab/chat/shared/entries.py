"""
What a shared room does with what its log says (L{RoomEntries}, mixed into
L{netlab.chat.shared.room.SharedRoom}): each entry type, in the log's order,
and the link's ups and downs.

Log entries are flat C{dict}s; C{t} says what happened:

  - C{line}: C{x}, a room message (C{h} = C{"1"}: replayed to newcomers),
    from member C{m} of daemon C{d} (who is not sent it back);
  - C{join} (C{r}: a name claimed again), C{leave} (C{x}: why), C{nick}
    (C{o} the old name): name C{a};
  - C{msg}, C{err}, C{kick}: C{x} for the member called C{to} alone.

Entries are sent by this daemon's members (C{d} is this daemon; C{join},
C{leave} and C{rename} already counted them), by other daemons, or by a
daemon that found another lost (a C{leave} without a sequence number C{n}).
Anyone with access to Redis can add entries too: what netlab cannot read is
skipped.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

from netlab.chat.interfaces import IChatMember
from netlab.chat.names import NAME, nameKey
from netlab.chat.room import ChatRoom
from netlab.chat.shared.interfaces import Op
from netlab.chat.shared.roster import Roster
from netlab.logthrottle import ThrottledLog
from netlab.monitor import KICK

#: What local members are told when the link to the log goes down and returns.
LINK_LOST = "* link to the shared room lost; reconnecting"
LINK_BACK = "* link to the shared room is back"


class RoomEntries:
    """
    The log's side of a shared room.  The room provides the attributes below
    and C{_claim}, C{_giveFreshName}, C{_renamed} and C{log}.
    """

    local: ChatRoom
    roster: Roster
    daemon: str
    _serials: dict[IChatMember, int]
    _members: dict[int, IChatMember]
    _joins: dict[int, Op]
    _unsent: set[int]
    _reclaimed: set[int]
    _lost: bool

    def watchEntries(self, clock: IReactorTime) -> None:
        """
        Set up: entries that cannot be read are logged at most once a minute.
        """
        self._badEntries = ThrottledLog(clock)

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
        if len(self.roster) + leaving <= self.local.announceLimit:
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
        Someone changed their name (a member here: now, in the room's order).
        """
        old, new, owner = _name(entry, "o"), _name(entry), entry.get("d", "")
        sender = self._sender(entry)
        if owner == self.daemon:
            self._renamed(_serial(entry))
            if sender is None or sender.name != old:
                return  # it left meanwhile
            del self.local.members[nameKey(old)]
            self.local.members[nameKey(new)] = sender
        self.roster.remove(old)
        self.roster.add(new, owner)
        if sender is not None:
            sender.renamed(new, None)
        else:
            self._lostName(new, owner)
        if old != new:
            self.local.broadcast(f"* {old} is now known as {new}", sender, False)

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
        self, names: dict[str, tuple[str, str]] | None, history: list[dict[str, str]]
    ) -> None:
        for entry in history:
            if entry.get("t") == "line" and entry.get("h"):
                self.local.history.append(entry.get("x", "").encode("utf-8"))
        if names is not None:  # the first link, or a log that lost entries we had not read
            self._learnNames(names)
        self._joins.clear()
        self._unsent.clear()
        if self._lost:
            self._lost = False
            self.local.broadcast(LINK_BACK, remember=False)

    def _learnNames(self, names: dict[str, tuple[str, str]]) -> None:
        """
        The room's names as the log has them now: learn the others'; claim
        again ours that the log forgot (Redis restarted empty).
        """
        forgotten = [
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
                self._announce(f"* {name} has left (server lost)", None, leaving=1)


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
