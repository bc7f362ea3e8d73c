"""
Names in the chat room: what a name may be, which are reserved, and when two
names are the same.
"""

from __future__ import annotations

import re

#: The name every operator console starts with; no network client may take it.
OPERATOR = "operator"

#: A name: 1-24 ASCII letters, digits, C{_} or C{-}.
NAME = re.compile(r"[A-Za-z0-9_-]{1,24}", re.ASCII)

#: The names the room gives newcomers are this, C{-} and a number
#: (L{netlab.chat.room}); no network client may take one.
GUEST = "guest"

#: Names no network client may take, compared by their skeleton (L{reserved}):
#: the operator's, and words that would pass for the server's own or for
#: someone in charge.
_RESERVED = frozenset(
    {
        OPERATOR,
        *("err", "error", "server", "netlab", "system"),
        *("admin", "administrator", "sysadmin", "root", "sysop", "op"),
        *("moderator", "mod", "staff"),
    }
)
_LOOKALIKE = str.maketrans("0134578", "oieastb", "_-")


def reserved(name: str) -> bool:
    """
    Whether C{name} is, or looks like, a reserved name: the operator's, a word
    that passes for the server or for someone in charge, or a guest name like
    those the room gives newcomers (C{guest-7}).  Case, C{_} and C{-}, trailing
    digits, digits standing for letters, a leading C{the} and a plural C{s} do
    not make a new name (C{0perat0r}, C{operator_2}, C{The-Server}, C{mods},
    C{Guest_07}).

    @param name: a valid name (see L{NAME}).
    @return: whether a network client is refused C{name}.
    """
    stem = name.lower().rstrip("0123456789_-")
    skeleton = stem.translate(_LOOKALIKE)
    if skeleton == GUEST:
        # guest-7, Guest_07, gue5t7: the room's names; "guest" alone is not.
        return any(character.isdigit() for character in name[len(stem) :])
    if skeleton.startswith("the"):
        skeleton = skeleton[3:]
    if skeleton.startswith(OPERATOR):
        return True
    return skeleton in _RESERVED or (skeleton.endswith("s") and skeleton[:-1] in _RESERVED)


def nameKey(name: str) -> str:
    """
    How names are compared: C{Alice} and C{alice} are the same person.  (A name
    that is already lower case is its own key, which saves a string per client.)
    """
    key = name.lower()
    return name if key == name else key
