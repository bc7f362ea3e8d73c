"""
The chat room of one process: who is here, what was said lately, and the
fan-out of every room message to its members (L{IChatRoom}).

Fan-out is the hot path, so it is built for a room of thousands:

  - the lines said in one reactor turn are delivered together at the start
    of the next, encoded and joined once (once per line terminator in use,
    at most three): every member gets the same C{bytes} object, and the
    turn costs one delivery per member however many lines it held (a sender
    gets the turn's lines but its own, joined for it alone);
  - in a big room the sends themselves are shared with worker threads
    (L{netlab.fanout}): the system calls, most of a line's cost, run on
    several cores at once;
  - members are flushed once per reactor turn (one timer for all of them);
  - one timer looks for idle members, however many there are.

Join and leave lines go out only while the room is small (L{ANNOUNCE_LIMIT}).
"""

from __future__ import annotations

from collections import deque

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from zope.interface import implementer

from netlab.chat.interfaces import IChatMember, IChatRoom
from netlab.chat.names import nameKey
from netlab.fanout import ParallelSend

#: Room messages replayed to a newcomer by default.
HISTORY = 20

#: Join and leave lines are sent while the room has at most this many people.
#: Announcing every arrival to everyone costs O(N^2) deliveries: 10,000 people
#: connecting would mean 50 million lines, most of them to people who are not
#: reading.  (Large IRC channels and chat rooms hide joins for the same reason.)
ANNOUNCE_LIMIT = 250

#: The longest interval between two looks for idle members, in seconds.
IDLE_SWEEP = 30.0


@implementer(IChatRoom)
class ChatRoom:
    """
    A room kept in this process's memory.

    @ivar members: the members by L{nameKey}, in order of arrival.
    @ivar history: the remembered messages (UTF-8, no terminator).
    @ivar idleTimeout: seconds after which a silent member is timed out, or L{None}.
    @ivar sender: what sends a turn's lines to many members at once, on
        several threads (L{ParallelSend}), or L{None} to send them one by one.
    """

    def __init__(
        self,
        clock: IReactorTime,
        history: int = HISTORY,
        announceLimit: int = ANNOUNCE_LIMIT,
        idleTimeout: float | None = None,
        sender: ParallelSend | None = None,
    ) -> None:
        self.clock = clock
        self.sender = sender
        self.members: dict[str, IChatMember] = {}
        self.history: deque[bytes] = deque(maxlen=history)
        self.announceLimit = announceLimit
        self.idleTimeout = idleTimeout or None
        self.closed = False
        self._guests = 0
        self._said: list[tuple[bytes, IChatMember | None]] = []  # this turn's lines
        self._settling = False
        self._dirty: list[IChatMember] = []
        self._flushCall: IDelayedCall | None = None
        self._idleCall: IDelayedCall | None = None

    def __len__(self) -> int:
        return len(self.members)

    # Membership

    def join(self, member: IChatMember, name: str | None = None) -> str:
        """
        Add C{member} under C{name} (made unique) or a fresh guest name; return
        the name it got.  The others are told it has joined.
        """
        name = self._uniqueName(name) if name else self._guestName()
        self.settle()  # (what was said before it came is not for it)
        self.members[nameKey(name)] = member
        self.announce(f"* {name} has joined", exclude=member)
        return name

    def leave(self, member: IChatMember, reason: str | None = None) -> None:
        """
        Remove C{member} (if it is still here) and tell the others.
        """
        name = member.name
        if name is None or self.members.get(nameKey(name)) is not member:
            return
        suffix = f" ({reason})" if reason else ""
        self.settle()  # (what was said while it was here is for it)
        self.announce(f"* {name} has left{suffix}", exclude=member)
        del self.members[nameKey(name)]

    def rename(self, member: IChatMember, new: str) -> str | None:
        """
        Give C{member} the name C{new}; return why not, or L{None} on success.
        """
        old = member.name
        if old is None or self.members.get(nameKey(old)) is not member:
            return "you are not in the room"
        if self.members.get(nameKey(new), member) is not member:
            return f"the name {new} is taken"
        del self.members[nameKey(old)]
        self.members[nameKey(new)] = member
        if new != old:
            self.broadcast(f"* {old} is now known as {new}", exclude=member, remember=False)
        return None

    def find(self, name: str, asker: IChatMember | None = None) -> IChatMember | None:
        """
        The member called C{name} (in any case), if there is one.
        """
        return self.members.get(nameKey(name))

    def names(self) -> list[str]:
        """
        Everyone's name, in order of arrival.
        """
        return [member.name for member in self.members.values() if member.name]

    def recent(self) -> list[bytes]:
        """
        The remembered messages, oldest first.
        """
        return list(self.history)

    def _guestName(self) -> str:
        while True:
            self._guests += 1
            name = f"guest-{self._guests}"
            if nameKey(name) not in self.members:
                return name

    def _uniqueName(self, name: str) -> str:
        candidate, number = name, 1
        while nameKey(candidate) in self.members:
            number += 1
            candidate = f"{name}-{number}"
        return candidate

    # Fan-out

    def broadcast(
        self, text: str, exclude: IChatMember | None = None, remember: bool = True
    ) -> None:
        """
        Deliver one room message to every member but C{exclude}, with the
        other messages of this reactor turn (L{settle}, at the start of the
        next turn).  Remembered messages are replayed to newcomers.
        """
        if self.closed:
            return
        body = text.encode("utf-8")
        if remember and self.history.maxlen:
            self.history.append(body)
        self._said.append((body, exclude))
        if self._flushCall is None:
            self._flushCall = self.clock.callLater(0, self.flush)

    def settle(self) -> None:
        """
        Deliver the messages broadcast so far: to each member, in one
        C{bytes} object joined once for every member with its terminator (a
        member that said some of them gets the others, joined for it alone;
        a member without a terminator gets them one by one).  Lines said
        while they are delivered follow them, once every member has them.
        """
        if self._settling:  # (from inside a delivery: the loop below has them)
            return
        self._settling = True
        try:
            while self._said:
                said, self._said = self._said, []
                self._deliverAll(said)
        finally:
            self._settling = False

    def _deliverAll(self, said: list[tuple[bytes, IChatMember | None]]) -> None:
        senders = {exclude for _, exclude in said}
        joined: dict[bytes, bytes] = {}
        members = list(self.members.values())
        mine = len(members) if self.sender is None else self.sender.share(len(members))
        finish = None
        if mine < len(members):  # the rest go to the sender's workers, first
            socks, datas, targets = [], [], []
            for member in members[mine:]:
                terminator = member.terminator
                if member in senders or not terminator:
                    self._deliverApart(member, said)
                    continue
                data = joined.get(terminator) or self._join(said, terminator, joined)
                sock = member.directSocket()
                if sock is None:
                    member.deliver(data)
                else:
                    socks.append(sock)
                    datas.append(data)
                    targets.append(member)
            finish = self.sender.begin(socks, datas)
        try:
            for member in members[:mine]:
                terminator = member.terminator
                if member in senders or not terminator:
                    self._deliverApart(member, said)
                else:
                    member.deliver(joined.get(terminator) or self._join(said, terminator, joined))
        finally:  # (the workers are done, and their members served, whatever happened)
            if finish is not None:
                for member, data, sent in zip(targets, datas, finish(), strict=True):
                    member.sentDirect(data, sent)

    @staticmethod
    def _deliverApart(member: IChatMember, said: list[tuple[bytes, IChatMember | None]]) -> None:
        """
        Deliver C{said} line by line to a member that said some of them (it
        gets the others) or has no terminator (it takes one line at a time).
        """
        terminator = member.terminator
        for body, exclude in said:
            if exclude is not member:
                member.deliver(body + terminator)

    @staticmethod
    def _join(
        said: list[tuple[bytes, IChatMember | None]], terminator: bytes, joined: dict[bytes, bytes]
    ) -> bytes:
        """
        C{said} as one C{bytes}, each line ended by C{terminator}, joined
        once per terminator (kept in C{joined}).
        """
        data = joined[terminator] = b"".join(body + terminator for body, _ in said)
        return data

    def announce(self, text: str, exclude: IChatMember | None = None) -> None:
        """
        Send a join/leave line, unless the room is too big for that to be sane.
        """
        if len(self.members) <= self.announceLimit:
            self.broadcast(text, exclude, remember=False)

    def markDirty(self, member: IChatMember) -> None:
        """
        C{member} has output to write: flush it (with everyone else's) at the
        start of the next reactor turn, so that however many lines arrive in this
        turn, each member gets one write.
        """
        self._dirty.append(member)
        if self._flushCall is None:
            self._flushCall = self.clock.callLater(0, self.flush)

    def flush(self) -> None:
        """
        Deliver the messages broadcast so far and flush every member that
        asked, now.
        """
        if self._flushCall is not None:
            if self._flushCall.active():
                self._flushCall.cancel()
            self._flushCall = None
        self.settle()
        dirty, self._dirty = self._dirty, []
        for member in dirty:
            member.flush()

    def close(self) -> None:
        """
        The server is shutting down: nothing more is relayed or announced
        (what was, is delivered).
        """
        self.settle()
        self.closed = True
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.cancel()
        self._idleCall = None

    # Idle members

    def watchIdle(self) -> None:
        """
        Make sure silent members are looked for.  One timer serves the whole
        room: a timer per member would cost more memory than the member itself.
        A member is timed out between C{idleTimeout} and C{idleTimeout} plus one
        sweep interval (an eighth of it, at most 30 s) after it was last heard.
        """
        if self._idleCall is None and self.idleTimeout is not None and not self.closed:
            interval = min(self.idleTimeout / 8, IDLE_SWEEP)
            self._idleCall = self.clock.callLater(interval, self._sweepIdle)

    def _sweepIdle(self) -> None:
        self._idleCall = None
        assert self.idleTimeout is not None
        deadline = self.clock.seconds() - self.idleTimeout
        idle = [
            member
            for member in self.members.values()
            if member.lastHeard is not None and member.lastHeard <= deadline
        ]
        for member in idle:
            member.timedOut()
        if self.members:
            self.watchIdle()
