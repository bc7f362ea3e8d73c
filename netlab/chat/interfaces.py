"""
What a chat room and its members may ask of each other -- and nothing more.

A room (L{netlab.chat.room.ChatRoom}: one process's memory) keeps who is here,
what was said lately, and fans every room message out to its members.  A member
(L{netlab.chat.protocol.ChatProtocol}: a TCP, TLS, UNIX or stdio connection)
is one person.  Each sees the other only through these interfaces, so a room
kept somewhere else, or a member on another kind of connection, is a new class
that provides the interface, with no edit to the other side.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

#: What L{IChatRoom.rename} returns when the answer comes later.
PENDING = "pending"


class NotSentError(Exception):
    """
    A member in a room kept elsewhere cannot be reached now (the link to the
    room is down and too much already waits for it); the text says so, for
    whoever tried.
    """


class IChatMember(Interface):
    """
    One person in a room, as the room sees them.
    """

    name = Attribute(
        "The member's name (C{str}), or L{None} before joining and after leaving. "
        "The member sets it from what L{IChatRoom.join} and L{IChatRoom.rename} "
        "return; the room only reads it."
    )

    terminator = Attribute(
        "The C{bytes} that end each line delivered to this member (C{b'\\r\\n'}, "
        "C{b'\\n'}, or C{b''} for a member that is sent one message at a time)."
    )

    lastHeard = Attribute(
        "When the member was last heard from (the room clock's seconds), or L{None} "
        "if it is never timed out for silence."
    )

    def deliver(line: bytes) -> None:
        """
        Take room lines: UTF-8 text followed by this member's L{terminator},
        one line to a member whose terminator is C{b''}, and to others one
        line or several (the room's lines of one reactor turn).  The same
        C{bytes} object goes to every member with that terminator, so it
        must not be changed.  The member sends it when the room calls
        L{flush}, or holds it until it can.
        """

    def directSocket() -> object | None:
        """
        The socket this member's next delivery may be sent on straight away
        (nothing is queued before it, and its transport is a plain TCP
        connection with nothing buffered), or L{None}.  A room may then send
        the delivery itself, on another thread (L{netlab.fanout}), and must
        call L{sentDirect} with the outcome before anything else is
        delivered to the member.
        """

    def sentDirect(line: bytes, sent: int) -> None:
        """
        The first C{sent} bytes of the delivery C{line} went out on the
        L{directSocket}: count them, and send the rest as L{deliver} would.
        """

    def flush() -> None:
        """
        Send what was delivered since the last flush.  The room calls this
        once per reactor turn for each member that asked (L{IChatRoom.markDirty}).
        """

    def sendMessage(text: str) -> None:
        """
        Send one message to this member alone (a private message, a notice).
        """

    def sendError(text: str) -> None:
        """
        Tell this member, in one C{ERR} line, what went wrong.
        """

    def close(reason: str | None) -> None:
        """
        Leave the room (telling the others C{reason}, if any) and end the
        member's connection once what it is owed is sent.
        """

    def timedOut() -> None:
        """
        The member was silent for longer than the room allows: tell them, and
        leave.
        """

    def renamed(name: str, why: str | None) -> None:
        """
        The room gave this member another name: the one it asked for (C{why}
        is L{None}), or another (C{why}: a room kept elsewhere found its name
        taken).  Take it and tell the person.
        """

    def reportLimit(text: str, kind: str) -> None:
        """
        Record that this member hit a limit, or was kicked (C{kind}, one of
        L{netlab.monitor}'s event kinds; C{text} as the member is told): an
        event on the teacher's dashboard and a line in the log.
        """


class IChatRoom(Interface):
    """
    A room, as its members see it.
    """

    closed = Attribute("Whether the room has closed (the server is stopping).")

    def __len__() -> int:
        """
        How many members the room has.
        """

    def join(member: IChatMember, name: str | None) -> str:
        """
        Add C{member}, as C{name} (made unique) or a fresh guest name, and tell
        the others.

        @return: the name the member got.
        """

    def leave(member: IChatMember, reason: str | None) -> None:
        """
        Remove C{member} (if it is here) and tell the others why it left.
        """

    def rename(member: IChatMember, new: str) -> str | None:
        """
        Give C{member} the name C{new} and tell the others.

        @return: why not (the name is taken); L{None} on success; or
            L{PENDING} when the room answers later (a room kept elsewhere),
            by the member's L{IChatMember.renamed} or L{IChatMember.sendError}.
        """

    def find(name: str, asker: IChatMember | None = None) -> IChatMember | None:
        """
        The member called C{name} (in any case), if there is one, for
        C{asker} to act on (a room kept elsewhere sends what C{asker} does to
        a remote member only while C{asker} still has its name).
        """

    def names() -> list[str]:
        """
        Everyone's name, in order of arrival.
        """

    def recent() -> list[bytes]:
        """
        The remembered room messages (UTF-8, no terminator), oldest first, to
        replay to a newcomer.
        """

    def broadcast(text: str, exclude: IChatMember | None, remember: bool) -> None:
        """
        Deliver one room message to every member but C{exclude}; remembered
        messages are replayed to newcomers.  The room may hand the messages
        of one reactor turn to each member together (L{settle}).
        """

    def settle() -> None:
        """
        Hand every room message broadcast so far to its members now.  A
        member calls this before it is sent anything of its own, so that it
        gets everything in the order it was produced.
        """

    def markDirty(member: IChatMember) -> None:
        """
        C{member} has output to send: call its L{IChatMember.flush} at the start
        of the next reactor turn.
        """

    def watchIdle() -> None:
        """
        Make sure members are timed out (L{IChatMember.timedOut}) once silent
        for the room's idle timeout, if it has one.
        """

    def close() -> None:
        """
        The server is stopping: relay and announce nothing more.
        """
