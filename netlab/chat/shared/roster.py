"""
Everyone in a shared room, on whichever daemon (L{Roster}), and a member on
another daemon as this one's commands see it (L{RemoteMember}).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from zope.interface import implementer

from netlab.chat.interfaces import IChatMember
from netlab.chat.names import nameKey


class Roster:
    """
    The room's names, in order of arrival: name key -> (owner daemon, name).
    """

    def __init__(self) -> None:
        self._names: dict[str, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key: str) -> bool:
        return key in self._names

    def get(self, key: str) -> tuple[str, str] | None:
        """
        (owner, name) for the name key C{key}, if someone has it.
        """
        return self._names.get(key)

    def add(self, name: str, owner: str) -> tuple[str, str] | None:
        """
        C{name} is C{owner}'s now; return who had it before, if anyone.
        """
        key = nameKey(name)
        before = self._names.get(key)
        self._names[key] = (owner, name)
        return before

    def remove(self, name: str) -> tuple[str, str] | None:
        """
        Nobody has C{name} any more; return who had it.
        """
        return self._names.pop(nameKey(name), None)

    def names(self) -> list[str]:
        """
        Every name, in order of arrival.
        """
        return [name for _, name in self._names.values()]

    def owners(self) -> set[str]:
        """
        Every daemon that owns a name.
        """
        return {owner for owner, _ in self._names.values()}

    def ownedBy(self, owner: str) -> Iterator[str]:
        """
        The names C{owner} has.
        """
        return (name for who, name in list(self._names.values()) if who == owner)


@implementer(IChatMember)
class RemoteMember:
    """
    Someone on another daemon, for the commands that act on one person
    (C{/msg}, C{/kick}): what is done to it is published to the room's log,
    and its own daemon does it.  While the link is down and too much waits
    for it, L{sendMessage}, L{sendError} and L{close} raise L{NotSentError}.

    @ivar name: its name.
    """

    terminator = b""
    lastHeard = None

    def __init__(self, name: str, send: Callable[[str, str, str], None]) -> None:
        self.name = name
        self._send = send

    def sendMessage(self, text: str) -> None:
        self._send("msg", self.name, text)

    def sendError(self, text: str) -> None:
        self._send("err", self.name, text)

    def close(self, reason: str | None = None) -> None:
        self._send("kick", self.name, reason or "")

    def reportLimit(self, text: str, kind: str) -> None:
        """
        Its own daemon reports it, when the kick arrives.
        """

    def deliver(self, line: bytes) -> None:
        """
        One line for this member alone: a private message.
        """
        self.sendMessage(line.decode("utf-8"))

    def directSocket(self) -> None:
        """
        None here: what it is sent goes to its own daemon.
        """
        return None

    def sentDirect(self, line: bytes, sent: int) -> None:
        """
        (Never called: it has no L{directSocket}.)
        """
        self.deliver(line[sent:])

    def flush(self) -> None:
        """
        Nothing is queued here.
        """

    def timedOut(self) -> None:
        """
        Its own daemon times it out.
        """

    def renamed(self, name: str, why: str | None) -> None:
        """
        Its own daemon tells it.
        """
        self.name = name
