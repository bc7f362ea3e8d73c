"""
The Chat service: one room, many people at once.

The course's chat server talks to one client at a time; this one keeps a room
(L{ChatRoom}) that everyone connected to the service is in.  Each line a client
sends is relayed to every other client as C{<NAME> text}, and every client that
keeps reading receives every room message exactly once, in the order the server
accepted them.  Framing (C{\\n}, C{\\r\\n}, bare course-style messages, limits,
decoding) comes from L{netlab.framing.MessageReceiver}.

Fan-out is the hot path, so it is built for a room of thousands:

  - a relayed line is encoded once (once per line terminator in use, at most
    three) and the same C{bytes} object is queued to every recipient;
  - a client's output is queued and written once per reactor turn (the room
    schedules one flush for all of them), however many lines it got in between;
  - an idle client costs no timers and no buffers beyond what the framing and
    the transport already hold: queues, token buckets and drop timers are
    created when first needed.

Two limits keep the room alive:

  - Slow consumers.  The transport tells the protocol (its streaming producer)
    when it holds more than its buffer size; from then on the client's output
    stays in the client's queue, and once that queue exceeds the send-queue
    limit the client is told C{ERR send queue exceeded}, dropped and announced
    as left.  Everyone else keeps receiving everything.
  - Floods.  A token bucket per client: a line beyond it is refused with
    C{ERR slow down} and not relayed.

Lockstep clients (the course's program: a bare message, then one
C{recv(1024)}) are never written to unasked.  Everything meant for one of them
-- and for a client that has not yet shown what it is -- is held
(L{netlab.lockstep.HeldLines}, bounded) and sent as the one reply to its next
message, packed by L{netlab.lockstep.packLines}; a message with nothing to
answer gets C{* (no new messages)} or C{* nobody else is here yet}.  The
welcome (greeting, hint, recent history) is one write of at most 1,024 bytes.

The operator console (L{operatorService}) joins the room as C{operator}, on the
terminal that runs C{twistd -n} (C{stdio:}) or on a listening endpoint such as a
UNIX socket; only a console may C{/kick} and C{/wall}.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable

from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITransport
from twisted.internet.tcp import Server
from twisted.python.failure import Failure

from netlab.framing import LINE, MessageFactory, MessageReceiver, scrub
from netlab.guard import GuardProtocol
from netlab.lockstep import HeldLines, packLines, packWelcome, skippedNotice
from netlab.ratelimit import Rate, TokenBucket

#: The course's greeting, the first thing every client receives.
#: How long a newcomer has to say it is a line client (the netlab client sends
#: an empty line on connecting) before the welcome goes out in the form the
#: lecture's one-recv client needs: ASCII, at most 1,024 bytes, unterminated.
#: The lecture's client says nothing before its welcome, so waiting costs it
#: only this delay.
WELCOME_WAIT = 0.1

#: The hint after the greeting.  Enter matters: until a client sends something,
#: it may be the lecture's one-recv client, which must not be sent room lines
#: it did not ask for (see L{netlab.lockstep}).
HINT = "Press Enter to follow the room; /help for the commands."

GREETING = "Welcome to my chat room!"

#: Room messages replayed to a newcomer by default.
HISTORY = 20

#: Unsent bytes a client may owe, beyond what its transport buffers, before it is
#: dropped (C{--chat-sendq}).  A megabyte is minutes of a busy room's traffic.
SENDQ = 1 << 20

#: The default flood limit (C{--chat-rate}): five lines a second, bursts of 20.
RATE = Rate(5.0, 20)

#: Join and leave lines are sent while the room has at most this many people.
#: Announcing every arrival to everyone costs O(N^2) deliveries: 10,000 people
#: connecting would mean 50 million lines, most of them to people who are not
#: reading.  (Large IRC channels and chat rooms hide joins for the same reason.)
ANNOUNCE_LIMIT = 250

#: /who lists at most this many names (and says how many more there are).
WHO_LIMIT = 200

#: How long a dropped client has to take its last lines before its connection
#: is aborted: a client that never reads would otherwise hold its transport's
#: buffer for as long as TCP keeps the connection open.
DROP_GRACE = 10.0

#: The longest interval between two looks for idle members, in seconds.
IDLE_SWEEP = 30.0

#: Room deliveries one client's lines may cause in one reactor turn before its
#: further lines wait for the next turn: about 10 ms of work.
TURN_BUDGET = 20_000

#: How much queued output is written at once; about the transport's own buffer
#: size, so that a paused client's transport never holds much more than that.
WRITE_CHUNK = 65536

#: The name every operator console starts with; no network client may take it.
OPERATOR = "operator"

_NAME = re.compile(r"[A-Za-z0-9_-]{1,24}", re.ASCII)
#: Names no network client may take, compared by their skeleton (L{reserved}):
#: the operator's, and words that would pass for the server's own.
_RESERVED = frozenset({OPERATOR, "err", "error", "server", "netlab", "admin", "system"})
_LOOKALIKE = str.maketrans("0134578", "oieastb", "_-")


def reserved(name: str) -> bool:
    """
    Whether C{name} is, or looks like, a reserved name: case, C{_} and C{-},
    trailing digits and digits standing for letters (C{0perat0r}, C{operator_2})
    do not make a new name.
    """
    skeleton = name.lower().rstrip("0123456789_-").translate(_LOOKALIKE)
    return skeleton in _RESERVED or skeleton.startswith(OPERATOR)


def nameKey(name: str) -> str:
    """
    How names are compared: C{Alice} and C{alice} are the same person.  (A name
    that is already lower case is its own key, which saves a string per client.)
    """
    key = name.lower()
    return name if key == name else key


def writeThrough(transport: ITransport, data: bytes) -> None:
    """
    Write C{data}: straight to the socket when it is a plain TCP connection with
    nothing buffered (the usual case in a room whose clients keep up), else
    through the transport as usual.

    C{transport.write} leaves the sending to the next reactor turn and asks the
    poller twice (two C{epoll_ctl} calls) to watch the socket for writability;
    for a room of a thousand that is most of the cost of a message.  Only the
    guard's own wrapper is looked through, never TLS or other wrappers, and
    whatever the socket does not take goes to the transport, in order.
    """
    raw = transport.transport if type(transport) is GuardProtocol else transport
    if (
        type(raw) is Server
        and not raw.dataBuffer
        and not getattr(raw, "_tempDataLen", 1)
        and raw.connected
        and not raw.disconnecting
        and not raw.TLS
    ):
        try:
            sent = raw.socket.send(data)
        except OSError:  # EAGAIN, or an error the transport will meet itself
            sent = 0
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)


class ChatRoom:
    """
    The shared state of the room: who is here, what was said lately, and the
    fan-out of every room message to its members' queues.

    @ivar members: the members by L{nameKey}, in order of arrival.
    @ivar idleTimeout: seconds after which a silent member is dropped, or L{None}.
    """

    def __init__(
        self,
        clock: IReactorTime,
        history: int = HISTORY,
        announceLimit: int = ANNOUNCE_LIMIT,
        idleTimeout: float | None = None,
    ) -> None:
        self.clock = clock
        self.members: dict[str, ChatProtocol] = {}
        self.history: deque[bytes] = deque(maxlen=history)
        self.announceLimit = announceLimit
        self.idleTimeout = idleTimeout or None
        self.closed = False
        self.turn = 0
        self._guests = 0
        self._dirty: list[ChatProtocol] = []
        self._flushCall: IDelayedCall | None = None
        self._idleCall: IDelayedCall | None = None

    # Membership

    def join(self, member: ChatProtocol, name: str | None = None) -> str:
        """
        Add C{member} under C{name} (made unique) or a fresh guest name; return
        the name it got.  The others are told it has joined.
        """
        name = self._uniqueName(name) if name else self._guestName()
        self.members[nameKey(name)] = member
        member.name = name
        self.announce(f"* {name} has joined", exclude=member)
        return name

    def leave(self, member: ChatProtocol, reason: str | None = None) -> None:
        """
        Remove C{member} (if it is still here) and tell the others.
        """
        name = member.name
        if name is None or self.members.get(nameKey(name)) is not member:
            return
        suffix = f" ({reason})" if reason else ""
        self.announce(f"* {name} has left{suffix}", exclude=member)
        del self.members[nameKey(name)]
        member.name = None

    def rename(self, member: ChatProtocol, new: str) -> str | None:
        """
        Give C{member} the name C{new}; return why not, or L{None} on success.
        """
        old = member.name
        assert old is not None
        if nameKey(new) in self.members and self.members[nameKey(new)] is not member:
            return f"the name {new} is taken"
        del self.members[nameKey(old)]
        self.members[nameKey(new)] = member
        member.name = new
        if new != old:
            self.broadcast(f"* {old} is now known as {new}", exclude=member, remember=False)
        return None

    def find(self, name: str) -> ChatProtocol | None:
        """
        The member called C{name} (in any case), if there is one.
        """
        return self.members.get(nameKey(name))

    def names(self) -> list[str]:
        """
        Everyone's name, in order of arrival.
        """
        return [member.name for member in self.members.values() if member.name]

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
        self, text: str, exclude: ChatProtocol | None = None, remember: bool = True
    ) -> None:
        """
        Queue one room message to every member but C{exclude}.

        The text is encoded once, and once more for each line terminator in use
        (C{\\r\\n}, C{\\n}, none); every recipient gets the same C{bytes}.
        Remembered messages are replayed to newcomers.
        """
        if self.closed:
            return
        body = text.encode("utf-8")
        if remember and self.history.maxlen:
            self.history.append(body)
        lines: dict[bytes, bytes] = {}
        for member in self.members.values():
            if member is not exclude:
                terminator = member.terminator
                line = lines.get(terminator)
                if line is None:
                    line = lines[terminator] = body + terminator
                member.deliver(line)

    def announce(self, text: str, exclude: ChatProtocol | None = None) -> None:
        """
        Send a join/leave line, unless the room is too big for that to be sane.
        """
        if len(self.members) <= self.announceLimit:
            self.broadcast(text, exclude, remember=False)

    def markDirty(self, member: ChatProtocol) -> None:
        """
        C{member} has output to write: flush it (with everyone else's) at the
        start of the next reactor turn, so that however many lines arrive in this
        turn, each client gets one write.
        """
        self._dirty.append(member)
        if self._flushCall is None:
            self._flushCall = self.clock.callLater(0, self.flush)

    def flush(self) -> None:
        """
        Write every member's queued output now.
        """
        if self._flushCall is not None:
            if self._flushCall.active():
                self._flushCall.cancel()
            self._flushCall = None
        self.turn += 1
        dirty, self._dirty = self._dirty, []
        for member in dirty:
            member.flush()

    def close(self) -> None:
        """
        The server is shutting down: nothing more is relayed or announced.
        """
        self.closed = True
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.cancel()
        self._idleCall = None

    # Idle members

    def watchIdle(self) -> None:
        """
        Make sure silent members are looked for.  One timer serves the whole
        room: a timer per client would cost more memory than the client itself.
        A member is dropped between C{idleTimeout} and C{idleTimeout} plus one
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
            member.timeoutConnection()
        if self.members:
            self.watchIdle()


class ChatProtocol(MessageReceiver):
    """
    One person in the room.

    @ivar name: the person's name, L{None} before joining and after leaving.
    @ivar room: the L{ChatRoom}.
    """

    isOperator = False
    name: str | None = None
    room: ChatRoom
    lastHeard: float | None = None

    _bucket: TokenBucket | None = None
    _pending: list[bytes] | None = None
    _pendingSize = 0
    _scheduled = False
    _dropCall: IDelayedCall | None = None
    _outputFull = False
    _yielded = False
    _turn = -1
    _spent = 0
    _leaveReason: str | None = None
    _held: HeldLines | None = None
    _welcomeCall: IDelayedCall | None = None

    # Joining and leaving

    def connectionMade(self) -> None:
        """
        Greet the newcomer, replay the recent history, and join the room.
        """
        self.room = self.factory.room
        super().connectionMade()
        name = self.room.join(self, self.defaultName())
        if self.terminator:  # already a line client (the operator's console)
            self.welcome(name)
        else:
            self._welcomeCall = self.factory.clock.callLater(WELCOME_WAIT, self._welcomeNow)

    def _welcomeNow(self) -> None:
        self._welcomeCall = None
        if self.name is not None:
            self.welcome(self.name)

    def welcome(self, name: str) -> None:
        """
        Send the greeting, the hint and the recent history (marked as such).

        A line client (the operator's console, or a client that said so within
        L{WELCOME_WAIT}) gets it all, in UTF-8, line by line.  Otherwise the
        client may be a lockstep one, so it gets what suits one: a single write
        of at most 1,024 bytes, ASCII, whole lines, newest history kept
        (L{packWelcome}), no final terminator (owed to a line client; see
        L{MessageReceiver.encodeMessage}).
        """
        head = [GREETING, f"* You are {name}. {HINT}"]
        history = self.room.history
        if history:
            head.append(f"* last {len(history)} message{'' if len(history) == 1 else 's'}:")
        if self.terminator:
            self.sendLines(head)
            for body in history:
                self.deliver(body + self.terminator)
            return
        lines = [body.decode("utf-8", "replace") for body in history]
        self.transport.write(packWelcome(head, lines))
        self._owed = True

    def defaultName(self) -> str | None:
        """
        The name to join as; L{None} for a fresh guest name.
        """
        return None

    def connectionLost(self, reason: Failure | None = None) -> None:
        super().connectionLost(reason)
        if self._dropCall is not None and self._dropCall.active():
            self._dropCall.cancel()
        self._dropCall = None
        if self._welcomeCall is not None and self._welcomeCall.active():
            self._welcomeCall.cancel()
        self._welcomeCall = None
        self._pending = None
        self.room.leave(self, self._leaveReason)

    def peerFinished(self) -> None:
        """
        End of stream: leave, once what we owe the peer is written.
        """
        self.close()

    def setTimeout(self, period: float | None) -> None:
        """
        Watch (or stop watching) for silence.  Replaces L{TimeoutMixin}'s timer
        per connection by the room's single sweep; the period is the room's.
        """
        if period:
            self.lastHeard = self.clock.seconds()
            self.room.watchIdle()
        else:
            self.lastHeard = None

    def resetTimeout(self) -> None:
        """
        The peer was heard from.
        """
        if self.lastHeard is not None:
            self.lastHeard = self.clock.seconds()

    def timeoutConnection(self) -> None:
        self.sendError("idle timeout")
        self.close("idle timeout")

    def serverShutdown(self) -> None:
        """
        The daemon is stopping: nothing more is relayed; say so and close.

        A client that is behind (its transport is full) loses the backlog
        queued for it rather than holding up the shutdown: it gets the goodbye
        right after what its transport already holds.
        """
        if self._welcomeCall is not None:  # the welcome first, then the goodbye
            self._welcomeCall.cancel()
            self._welcomeNow()
        self.room.close()
        if self._outputFull:
            self._pending = None
            self._pendingSize = 0
        self.sendMessage("* server shutting down")
        self.close()

    def close(self, reason: str | None = None) -> None:
        """
        Leave the room now and close the connection once our queued output (and
        the transport's) is written.
        """
        if self._leaveReason is None:
            self._leaveReason = reason
        self.room.leave(self, reason)
        if self._held:
            self._writeHeld()
        self._writeAll()
        self.transport.loseConnection()

    # Receiving

    def messageReceived(self, text: str) -> None:
        """
        Relay a message or run a command; refuse it if the sender is flooding.
        """
        if self.name is None or not text.strip():
            return
        if not self._allowed():
            self.sendError("slow down")
        elif text.startswith("/") and not text.startswith("//"):
            self.runCommand(text)
        else:
            self.say(text[1:] if text.startswith("//") else text)
        self._spend()

    def _allowed(self) -> bool:
        rate = self.factory.rate
        if rate is None:
            return True
        now = self.clock.seconds()
        if self._bucket is None:
            self._bucket = TokenBucket(rate, now)
        return self._bucket.allow(now)

    def say(self, text: str) -> None:
        """
        Relay C{text} to everyone else, scrubbed of anything that could drive
        their terminals.
        """
        text = scrub(text)
        if text.strip():
            self.room.broadcast(f"<{self.name}> {text}", exclude=self)

    def runCommand(self, text: str) -> None:
        """
        Run C{/COMMAND ARGS}.
        """
        command, _, args = text[1:].partition(" ")
        handler: Callable[[str], None] | None = getattr(self, "command_" + command.lower(), None)
        if handler is None:
            name = scrub(command)[:32]
            self.sendError(f"unknown command /{name} (try /help)")
        else:
            handler(args.strip())

    # Commands

    def command_help(self, args: str) -> None:
        """
        List the commands.
        """
        self.sendLines(self.helpLines())

    def helpLines(self) -> list[str]:
        return [
            "* Type a line to say it to everyone. Commands:",
            "*   /nick NAME      change your name (1-24 letters, digits, _ or -)",
            "*   /who            who is in the room",
            "*   /me ACTION      tell the room what you are doing",
            "*   /msg NAME TEXT  say something to one person only",
            "*   /quit           leave",
            "*   /help           this list",
            "*   //TEXT          say a line that starts with /",
        ]

    def command_nick(self, args: str) -> None:
        """
        Change name: unique, 1-24 letters, digits, C{_} or C{-}.
        """
        if not args:
            self.sendError("usage: /nick NAME")
        elif _NAME.fullmatch(args) is None:
            self.sendError("a name is 1-24 letters, digits, _ or -")
        elif reserved(args) and not self.isOperator:
            self.sendError(f"the name {args} is reserved")
        else:
            problem = self.room.rename(self, args)
            if problem is not None:
                self.sendError(problem)
            else:
                self.sendMessage(f"* You are now {args}.")

    def command_who(self, args: str) -> None:
        """
        Say who is in the room.
        """
        names = self.room.names()
        shown = ", ".join(names[:WHO_LIMIT])
        more = f" and {len(names) - WHO_LIMIT} more" if len(names) > WHO_LIMIT else ""
        self.sendMessage(f"* {len(names)} in the room: {shown}{more}")

    def command_me(self, args: str) -> None:
        """
        Relay an action: C{* NAME ACTION}.
        """
        action = scrub(args)
        if not action.strip():
            self.sendError("usage: /me ACTION")
        else:
            self.room.broadcast(f"* {self.name} {action}", exclude=self)

    def command_msg(self, args: str) -> None:
        """
        Send a private message to one person.
        """
        name, _, text = args.partition(" ")
        text = scrub(text)
        if not name or not text.strip():
            self.sendError("usage: /msg NAME TEXT")
            return
        target = self.room.find(name)
        if target is None:
            self.sendError(f"no one called {scrub(name)[:32]} is here")
        else:
            target.sendMessage(f"[private] <{self.name}> {text}")
            self.sendMessage(f"[private to {target.name}] {text}")

    def command_quit(self, args: str) -> None:
        """
        Leave the room.
        """
        self.sendMessage("* Bye!")
        self.close()

    def command_kick(self, args: str) -> None:
        self.sendError("/kick is only for the operator console")

    def command_wall(self, args: str) -> None:
        self.sendError("/wall is only for the operator console")

    # Sending: everything goes through the client's queue, so that replies and
    # room messages reach it in the order they were produced.

    def sendMessage(self, text: str) -> None:
        """
        Queue one message, ended the way this peer ends its own.
        """
        self.deliver(text.encode("utf-8") + self.terminator)

    def sendLines(self, lines: Iterable[str]) -> None:
        """
        Queue several lines as one message: a bare client gets them separated by
        C{\\n} (it would otherwise see them run together), others as usual.
        """
        self.sendMessage((self.terminator or b"\n").decode("ascii").join(lines))

    def deliver(self, data: bytes) -> None:
        """
        Queue C{data} (a whole line, terminator included) for the next flush.
        While the transport holds a full buffer, the queue may grow up to
        C{sendq} bytes; past that the client is dropped at the next flush.

        A client that is not a line client (yet) is written to only when it
        asks: its lines are held for its next reply (see L{bareMessageReceived}).
        """
        if not self.terminator:
            if self._held is None:
                self._held = HeldLines()
            self._held.add(data)
            return
        if self._pending is None:
            self._pending = [data]
            self._pendingSize = len(data)
        else:
            self._pending.append(data)
            self._pendingSize += len(data)
        if not self._scheduled and (not self._outputFull or self._pendingSize > self.factory.sendq):
            self._scheduled = True
            self.room.markDirty(self)

    # Lockstep clients: one reply per message.

    def bareMessageReceived(self, text: str) -> None:
        """
        A lockstep client's message: handle it, then send it, in one write of at
        most 1,024 bytes, everything it was sent since its last message -- or,
        if that is nothing, a line saying why, so that its C{recv} returns.
        """
        if self._welcomeCall is not None:  # (it did not wait for the welcome)
            self._welcomeCall.cancel()
            self._welcomeNow()
        self.messageReceived(text)
        if self.name is None or self.terminator:  # it left, or it is a line client now
            return
        if not self._held:
            alone = len(self.room.members) <= 1
            self.deliver(b"* nobody else is here yet" if alone else b"* (no new messages)")
        self._writeHeld()

    def _writeHeld(self) -> None:
        """
        Write what is held as one reply of at most 1,024 bytes.
        """
        assert self._held is not None
        lines, dropped = self._held.take()
        reply = packLines(lines, skipped=dropped)
        self.transport.write(b"\n" + reply if self._owed else reply)
        self._owed = True

    def lineModeStarted(self) -> None:
        """
        The client turned out to be a line client: end the line it is owed, then
        send what was held for it (UTF-8, in full up to the holding bounds).
        """
        terminator = self.terminator
        if self._welcomeCall is not None:  # said so before its welcome: the full one
            self._welcomeCall.cancel()
            self._welcomeCall = None
            self.welcome(self.name)
        if self._owed:
            self._owed = False
            self.deliver(terminator)
        if self._held:
            lines, dropped = self._held.take()
            if dropped:
                self.deliver(skippedNotice(dropped).encode("ascii") + terminator)
            for line in lines:
                self.deliver(line.encode("utf-8") + terminator)

    def flush(self) -> None:
        """
        Write the queued output, unless the transport is full; drop the client
        if it owes more than C{sendq} bytes.  A client that used up its turn
        (see L{messageReceived}) has its held-back lines handled now.
        """
        self._scheduled = False
        if self._pending is None:
            pass
        elif not self._outputFull:
            self._writeQueued()
        elif self._pendingSize > self.factory.sendq:
            self._drop()
        if self._yielded:
            self._yielded = False
            if not self._outputFull:
                MessageReceiver.resumeProducing(self)

    def _writeQueued(self) -> None:
        """
        Hand the queue to the transport, a chunk at a time, until it is empty or
        the transport says it is full (it calls L{pauseProducing} during the
        write); what is left waits for L{resumeProducing}.
        """
        pending = self._pending
        assert pending is not None
        start = 0
        while start < len(pending) and not self._outputFull:
            end, size = start + 1, len(pending[start])
            while end < len(pending) and size < WRITE_CHUNK:
                size += len(pending[end])
                end += 1
            chunk = pending[start] if end == start + 1 else b"".join(pending[start:end])
            start = end
            self._pendingSize -= size
            writeThrough(self.transport, chunk)
        if start == len(pending):
            self._pending = None
            self._pendingSize = 0
        elif start:
            del pending[:start]

    def _writeAll(self) -> None:
        """
        Hand everything queued to the transport at once (we are closing).
        """
        if self._pending is not None:
            pending, self._pending, self._pendingSize = self._pending, None, 0
            self.transport.write(b"".join(pending))

    def _drop(self) -> None:
        """
        The client owes more than C{sendq} bytes: forget its queue, tell it why
        (behind what its transport already holds), drop it, and abort the
        connection if it still has not taken its last bytes after L{DROP_GRACE}.
        """
        self._pending = None
        self._pendingSize = 0
        self.sendError("send queue exceeded")
        self.close("send queue exceeded")
        abort = getattr(self.transport, "abortConnection", self.transport.loseConnection)
        self._dropCall = self.clock.callLater(DROP_GRACE, abort)

    # Flow control: the framing's C{paused} holds back reading; it is set while
    # the transport is full (C{_outputFull}) or while the client has used up
    # its turn (C{_yielded}).

    def pauseProducing(self) -> None:
        """
        The transport is full: queue the client's output, and stop reading it.
        """
        self._outputFull = True
        super().pauseProducing()

    def resumeProducing(self) -> None:
        """
        The transport has written everything it held: write what queued up
        meanwhile, then read from the peer again (unless it has to wait for its
        next turn).
        """
        self._outputFull = False
        if self._pending is not None and self.name is not None:
            self._writeQueued()
        if not self._outputFull and not self._yielded:
            super().resumeProducing()

    def _spend(self) -> None:
        """
        Count what a message cost the room (one delivery per member); once the
        client has caused L{TURN_BUDGET} deliveries in this reactor turn, hold
        its further lines until the next turn.  One flooding sender in a big
        room would otherwise keep the reactor busy for seconds at a time --
        everyone else waits, and so does a SIGTERM.
        """
        turn = self.room.turn
        if self._turn != turn:
            self._turn, self._spent = turn, 0
        self._spent += len(self.room.members)
        if self._spent >= TURN_BUDGET and not self.paused:
            self._yielded = True
            MessageReceiver.pauseProducing(self)
            self._pauseReading()
            if not self._scheduled:
                self._scheduled = True
                self.room.markDirty(self)


class OperatorProtocol(ChatProtocol):
    """
    The operator's console: in the room as C{operator}, never rate-limited,
    never timed out, and the only one who may C{/kick} and C{/wall}.  A
    console is a line client from the start (a person at a terminal).
    """

    isOperator = True
    terminator = b"\r\n"
    mode = LINE

    def defaultName(self) -> str:
        return OPERATOR

    def helpLines(self) -> list[str]:
        return [
            *super().helpLines(),
            "*   /kick NAME      throw someone out (console only)",
            "*   /wall TEXT      an announcement to everyone (console only)",
        ]

    def command_kick(self, args: str) -> None:
        """
        Disconnect someone, telling them and the room.
        """
        target = self.room.find(args) if args else None
        if not args:
            self.sendError("usage: /kick NAME")
        elif target is None:
            self.sendError(f"no one called {scrub(args)[:32]} is here")
        elif target is self:
            self.sendError("the console cannot kick itself (use /quit)")
        else:
            target.sendError(f"you were kicked by {self.name}")
            target.close(f"kicked by {self.name}")

    def command_wall(self, args: str) -> None:
        """
        Announce something to everyone.
        """
        text = scrub(args)
        if not text.strip():
            self.sendError("usage: /wall TEXT")
        else:
            self.room.broadcast(f"*** {self.name}: {text}", exclude=self)


class ChatFactory(MessageFactory):
    """
    Builds the clients of one L{ChatRoom}.

    @ivar room: the room every client of this factory joins.
    @ivar sendq: unsent bytes a client may owe beyond its transport's buffer.
    @ivar rate: each client's flood limit, or L{None} for none.
    """

    protocol: type[ChatProtocol] = ChatProtocol

    def __init__(
        self,
        clock: IReactorTime,
        history: int = HISTORY,
        sendq: int = SENDQ,
        rate: Rate | None = RATE,
        announceLimit: int = ANNOUNCE_LIMIT,
        **framing,
    ) -> None:
        super().__init__(clock, **framing)
        self.room = ChatRoom(clock, history, announceLimit, self.idleTimeout)
        self.sendq = sendq
        self.rate = rate

    @classmethod
    def fromOptions(cls, config, clock: IReactorTime) -> ChatFactory:
        """
        Build the factory from C{twistd netlab}'s parsed options.
        """
        return cls(
            clock,
            history=config["chat-history"],
            sendq=config["chat-sendq"],
            rate=config["chat-rate"],
            **cls.framingOptions(config),
        )


class OperatorFactory(MessageFactory):
    """
    Builds operator consoles for the room of a L{ChatFactory}: the same limits,
    but no rate limit and no idle timeout.
    """

    protocol = OperatorProtocol

    def __init__(self, chat: ChatFactory) -> None:
        super().__init__(chat.clock, chat.maxLineLength, chat.bareDelay)
        self.room = chat.room
        self.sendq = chat.sendq
        self.rate = None


def operatorService(description: str, chatListener, reactor):
    """
    The operator console service for C{--chat-operator DESCRIPTION}; see
    L{netlab.console}.
    """
    from netlab.console import operatorService as build

    return build(description, chatListener, reactor)
