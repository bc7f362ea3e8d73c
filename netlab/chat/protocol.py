"""
One person in the chat room, on a stream connection (L{IChatMember}).

Each line a client sends is relayed to every other member as C{<NAME> text};
every member that keeps reading receives every room message exactly once, in
the order the server accepted them.  Framing (C{\\n}, C{\\r\\n}, bare
course-style messages, telnet, limits, decoding) comes from
L{netlab.framing.MessageReceiver}, the send queue from
L{netlab.chat.output.QueuedOutput}, the commands from
L{netlab.chat.commands.ChatCommands}.

Floods are paced by the framing (L{netlab.pacing}): lines beyond the factory's
C{rate} wait their turn.  A relayed line also charges the sender's address for
the deliveries it caused (L{netlab.fairness}).

Lockstep clients (the course's program: a bare message, then one
C{recv(1024)}) are never written to unasked.  Everything meant for one of them
-- and for a client that has not yet shown what it is -- is held
(L{netlab.lockstep.HeldLines}, bounded) and sent as the one reply to its next
message, packed by L{netlab.lockstep.packLines}; a message with nothing to
answer gets C{* (no new messages)} or C{* nobody else is here yet}.  The
welcome (greeting, hint, recent history) is one write of at most 1,024 bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from twisted.internet.interfaces import IDelayedCall
from twisted.python.failure import Failure
from zope.interface import implementer

from netlab.chat.commands import ChatCommands
from netlab.chat.interfaces import IChatMember
from netlab.chat.output import QueuedOutput
from netlab.fairness import DELIVERIES_PER_UNIT
from netlab.lockstep import HeldLines, packLines, packWelcome, skippedNotice
from netlab.monitor import TIMEOUT
from netlab.text import scrub

#: How long a newcomer has to say it is a line client (the netlab client sends
#: an empty line on connecting) before the welcome goes out in the form the
#: lecture's one-recv client needs: ASCII, at most 1,024 bytes, unterminated.
#: The lecture's client says nothing before its welcome, so waiting costs it
#: only this delay.
WELCOME_WAIT = 0.1

#: The course's greeting, the first thing every client receives.
GREETING = "Welcome to my chat room!"

#: The hint after the greeting to a client already known to be a line client
#: (it follows the room already: a browser, the netlab client, the console).
LINE_HINT = "Type /help for the commands."

#: The hint after the greeting.  Enter matters: until a client sends something,
#: it may be the lecture's one-recv client, which must not be sent room lines
#: it did not ask for (see L{netlab.lockstep}).
HINT = "Press Enter to follow the room; /help for the commands."


def noDelay(transport: object) -> None:
    """
    Send each write at once, without waiting for the peer to acknowledge the
    last one (C{TCP_NODELAY}): a room's lines are small and come one after
    another, and Nagle's algorithm would hold a line back until the peer's
    delayed acknowledgement of the one before (up to 40 ms on Linux).  Only
    for transports that have the option (TCP, and TLS over it).
    """
    setter = getattr(transport, "setTcpNoDelay", None)
    if setter is not None:
        try:
            setter(True)
        except OSError:  # (the connection is already gone)
            pass


@implementer(IChatMember)
class ChatProtocol(QueuedOutput, ChatCommands):
    """
    One person in the room.  Its factory sets C{room} (an L{IChatRoom}) when
    it builds it, and provides C{sendq}.

    @ivar name: the person's name, L{None} before joining and after leaving.
    @ivar formerName: the name it had, once it left (for the dashboard).
    @ivar lastHeard: when the peer was last heard from, or L{None} when the
        room has no idle timeout.
    """

    # Names set only on some members live in slots: CPython shares one table
    # of at most 30 attribute names among a class's instances, and an instance
    # that sets a name the full table lacks gets a dictionary of its own
    # (~0.6 KiB per idle client; see netlab.test.test_member_attributes).
    __slots__ = ("formerName", "_history")

    name: str | None = None
    lastHeard: float | None = None

    _leaveReason: str | None = None
    _held: HeldLines | None = None
    _welcomeCall: IDelayedCall | None = None

    # Joining and leaving

    def connectionMade(self) -> None:
        """
        Join the room; greet the newcomer once it is clear what it is.
        """
        super().connectionMade()
        noDelay(self.transport)
        self._history = None
        self.name = name = self.room.join(self, self.defaultName())
        if self.terminator:  # already a line client (the operator's console)
            self.welcome(name)
        else:
            # The history is what was said before the newcomer joined; what is
            # said while its welcome waits is held for it (and must not be in
            # both).
            self._history = self.room.recent()
            self._welcomeCall = self.clock.callLater(WELCOME_WAIT, self._welcomeNow)

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
        head = [GREETING, f"* You are {name}. {LINE_HINT if self.terminator else HINT}"]
        history = self._history
        if history is None:
            history = self.room.recent()
        else:
            self._history = None
        if history:
            head.append(f"* last {len(history)} message{'' if len(history) == 1 else 's'}:")
        if self.terminator:
            self.sendLines(head)
            for body in history:
                self.deliver(body + self.terminator)
            return
        lines = [body.decode("utf-8", "replace") for body in history]
        self.transport.write(packWelcome(head, lines))
        self.owed = True

    def defaultName(self) -> str | None:
        """
        The name to join as; L{None} for a fresh guest name.
        """
        return None

    def renamed(self, name: str, why: str | None) -> None:
        """
        The room changed our name (see L{IChatMember.renamed}).
        """
        self.name = name
        self.sendMessage(f"* {why}; you are now {name}." if why else f"* You are now {name}.")

    def connectionLost(self, reason: Failure | None = None) -> None:
        super().connectionLost(reason)
        self.cancelDrop()
        if self._welcomeCall is not None and self._welcomeCall.active():
            self._welcomeCall.cancel()
        self._welcomeCall = None
        self._leave(self._leaveReason)

    def _leave(self, reason: str | None) -> None:
        if self.name is not None:
            self.room.leave(self, reason)
            self.formerName, self.name = self.name, None

    def peerFinished(self) -> None:
        """
        End of stream: leave, once what we owe the peer is written.
        """
        self.close()

    def watchIdle(self, period: float | None) -> None:
        """
        Watch (or stop watching) for silence: the room's one sweep does it for
        every member (L{IChatRoom.watchIdle}), with the room's period.
        """
        if period:
            self.lastHeard = self.clock.seconds()
            self.room.watchIdle()
        else:
            self.lastHeard = None

    def peerHeard(self) -> None:
        """
        The peer was heard from.
        """
        if self.lastHeard is not None:
            self.lastHeard = self.clock.seconds()

    def timedOut(self) -> None:
        """
        Silent for longer than the room allows.
        """
        self.timeoutConnection()

    def timeoutConnection(self) -> None:
        self.reportLimit("idle timeout", TIMEOUT)
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
        if self.paused:
            self.discardQueued()
        self.sendMessage("* server shutting down")
        if not self.terminator and self._held:  # ends its line (see MessageReceiver)
            self._writeHeld()
            self.transport.write(b"\n")
        self.close()

    def close(self, reason: str | None = None) -> None:
        """
        Leave the room now and close the connection once our queued output (and
        the transport's) is written.
        """
        if self._leaveReason is None:
            self._leaveReason = reason
        self._leave(reason)
        if self._held:
            self._writeHeld()
        self.writeQueued()
        self.transport.loseConnection()

    # Receiving

    def messageReceived(self, text: str) -> None:
        """
        Relay a message or run a command (a blank line does nothing, but it
        counted towards the sender's rate all the same).
        """
        if self.name is None or not text.strip():
            return
        if text.startswith("/") and not text.startswith("//"):
            self.runCommand(text)
        else:
            self.say(text[1:] if text.startswith("//") else text)
        self.spendTurn(len(self.room) // DELIVERIES_PER_UNIT)

    def say(self, text: str) -> None:
        """
        Relay C{text} to everyone else, scrubbed of anything that could drive
        their terminals.
        """
        text = scrub(text)
        if text.strip():
            self.room.broadcast(f"<{self.name}> {text}", exclude=self)

    # Sending: everything goes through the member's queue, so that replies and
    # room messages reach it in the order they were produced (the room's lines
    # of this turn first: they were said before).

    def sendMessage(self, text: str) -> None:
        """
        Queue one message, ended the way this peer ends its own (written
        at the next flush, with whatever else this turn brings it).
        """
        self.room.settle()
        data = text.encode("utf-8") + self.terminator
        if self.terminator:
            self.queue(data)
        else:
            self.deliver(data)

    def sendLines(self, lines: Iterable[str]) -> None:
        """
        Queue several lines as one message: a bare client gets them separated by
        C{\\n} (it would otherwise see them run together), others as usual.
        """
        self.sendMessage((self.terminator or b"\n").decode("ascii").join(lines))

    def deliver(self, data: bytes) -> None:
        """
        Send C{data} (whole lines, terminators included) now, or queue it
        behind what is queued (L{QueuedOutput.send}).  A client that is not a
        line client (yet) is written to only when it asks: its lines are held
        for its next reply (see L{bareMessageReceived}).
        """
        if self.terminator:
            self.send(data)
            return
        if self._held is None:
            self._held = HeldLines()
        self._held.add(data)

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
        self.room.settle()  # (what the others said before this is for the reply)
        if not self._held:
            alone = len(self.room) <= 1
            self.deliver(b"* nobody else is here yet" if alone else b"* (no new messages)")
        self._writeHeld()

    def terminatorChanging(self) -> None:
        """
        What the room said before the peer ended its lines otherwise (or
        showed it is a line client at all) is delivered as it ended them
        until now: held, for a client that was not a line client yet.
        """
        self.room.settle()

    def bareRefused(self) -> None:
        """
        The refusal of an over-long message is the lockstep client's reply:
        send it, with what was held for it.
        """
        if self.name is not None and self._held:
            self._writeHeld()

    def _writeHeld(self) -> None:
        """
        Write what is held as one reply of at most 1,024 bytes.
        """
        assert self._held is not None
        lines, dropped = self._held.take()
        reply = packLines(lines, skipped=dropped)
        self.transport.write(b"\n" + reply if self.owed else reply)
        self.owed = True

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
        if self.owed:
            self.owed = False
            self.deliver(terminator)
        if self._held:
            lines, dropped = self._held.take()
            if dropped:
                self.deliver(skippedNotice(dropped).encode("ascii") + terminator)
            for line in lines:
                self.deliver(line.encode("utf-8") + terminator)
