"""
What a shared room (L{netlab.chat.shared.room.SharedRoom}) and the log that
orders its messages (L{netlab.chat.shared.redislog.RedisRoomLog}: a Redis
Stream) may ask of each other.

Every daemon in a shared room appends what its members do to one log and
delivers what it reads back, in the log's order, to its own members; the log
also holds the room's names, each owned by one daemon.  A log entry is a flat
C{dict} of C{str}; its fields are named in L{netlab.chat.shared.room}.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from zope.interface import Attribute, Interface


@dataclass(eq=False)
class Op:
    """
    One thing to append to the log, with the names it claims, releases or
    needs, all checked and done at once, atomically, when it is appended.

    @ivar fields: the entry (the log adds its origin and sequence number).
    @ivar member: the local member it is about (a serial number), or 0.
    @ivar claim: a name key the daemon must own or take (its value: C{name}),
        or C{""}; taken by another daemon, the op is refused.
    @ivar name: the name as shown, for C{claim}.
    @ivar release: a name key the daemon gives up (if it owns it), or C{""}.
    @ivar check: a name key the daemon must own, else the op is refused, or C{""}.
    @ivar held: whether it is a member's line, which may wait for the log while
        the link is down (bounded) or be refused.
    @ivar refused: called if the op is refused (a name it needs is not ours).
    @ivar failed: called with Redis's error if Redis refuses it (out of memory).
    @ivar cancelled: whether it was cancelled before it was sent.
    @ivar seq: its sequence number in this daemon's ops, once sent (0 before).
    """

    fields: dict[str, str]
    member: int = 0
    claim: str = ""
    name: str = ""
    release: str = ""
    check: str = ""
    held: bool = False
    refused: Callable[[], None] | None = field(default=None, repr=False)
    failed: Callable[[str], None] | None = field(default=None, repr=False)
    cancelled: bool = False
    seq: int = 0


class IRoomLog(Interface):
    """
    One order for a shared room's messages, and the owners of its names.
    """

    daemon = Attribute("This daemon's id in the room (C{str}), unique to this process.")

    up = Attribute("Whether the link to the log is up now.")

    def attach(listener: IRoomLogListener) -> None:
        """
        Send what is read from the log, and the link's ups and downs, to C{listener}.
        """

    def publish(op: Op, first: bool = False) -> bool:
        """
        Append C{op} to the log as soon as the link allows, after those
        published before it (or, C{first}, before those not yet sent).

        @return: whether it was taken: a held op is refused while too many
            wait for the link.
        """

    def guestNumber() -> int:
        """
        A number for a guest name (C{guest-N}) that no other daemon in the
        room gives out.
        """

    def cancel(op: Op) -> bool:
        """
        Forget C{op} if it has not been sent yet.

        @return: whether it was forgotten.
        """


class IRoomLogListener(Interface):
    """
    What a log tells its room.
    """

    def entriesReceived(entries: list[dict[str, str]]) -> None:
        """
        Entries read from the log, in its order, each once.
        """

    def linkLost() -> None:
        """
        The link to the log is down; what is published waits for it.
        """

    def linkRestored(
        names: dict[str, tuple[str, str]] | None, history: list[dict[str, str]]
    ) -> None:
        """
        The link is up again (or for the first time): C{names} are the room's
        names now (name key -> (owner daemon, name)), or L{None} when the log
        still holds every entry since this daemon last read (they tell what
        changed); C{history}, on the first connection only, the latest
        entries (oldest first).  Ops published here with C{first} go out
        before the others waiting.
        """

    def entriesMissed() -> None:
        """
        Entries were dropped from the log before this daemon read them.
        """

    def owners() -> set[str]:
        """
        The other daemons that own names in the room, as far as this one knows.
        """

    def daemonLost(daemon: str, released: list[str]) -> None:
        """
        C{daemon} stopped announcing itself: its names are gone.  Those in
        C{released} are announced in the log itself; forget the rest.
        """
