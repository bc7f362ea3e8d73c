"""
Replies for lockstep clients: the course's blocking programs.

The lecture's clients send a bare message (no terminator), then read the answer
with exactly one C{recv(1024)} and decode it with the C{ascii} codec.  Whatever
the server writes to such a client must therefore come as one write per
message, fit in 1,024 bytes, hold whole lines only and be plain ASCII -- or the
client prints half a line, falls one reply behind for good, or crashes.

This module packs text for them:

  - L{asciiText} transliterates (C{é} becomes C{e}) or replaces (C{?}) every
    non-ASCII character;
  - L{packLines} (and L{packWelcome}) fit lines into one reply of at most L{REPLY_LIMIT} bytes,
    newest kept, with a first line saying how many older ones were left out,
    and a single over-long line shortened and marked (L{SHORTENED});
  - L{HeldLines} holds what a lockstep client is sent between two of its
    messages, bounded in lines and bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

#: What one C{recv(1024)} of the lecture's clients can take.
REPLY_LIMIT = 1024

#: How a line cut to fit a reply ends.
SHORTENED = " [shortened]"

#: Lines held for one client between two of its messages; older ones are
#: counted and dropped.  A reply shows at most a few dozen of them anyway.
HELD_LINES = 200

#: Bytes held for one client between two of its messages (the same idea).
HELD_BYTES = 16384


def asciiText(text: str) -> str:
    """
    C{text} in ASCII only: accented letters lose their accents (C{é} becomes
    C{e}, C{ﬁ} becomes C{fi}), every other non-ASCII character becomes C{?}.
    """
    if text.isascii():
        return text
    out = []
    for char in unicodedata.normalize("NFKD", text):
        if char.isascii():
            out.append(char)
        elif unicodedata.category(char)[0] != "M":  # combining marks just go
            out.append("?")
    return "".join(out)


def skippedNotice(count: int) -> str:
    """
    The line that says how many older lines a reply leaves out.
    """
    return f"* {count} earlier line{'' if count == 1 else 's'} not shown"


def shorten(line: bytes, limit: int) -> bytes:
    """
    C{line} cut to at most C{limit} bytes and marked as shortened, or as it is
    if it fits.
    """
    if len(line) <= limit:
        return line
    return line[: max(limit - len(SHORTENED), 0)] + SHORTENED.encode("ascii")


def packLines(lines: Sequence[str], limit: int = REPLY_LIMIT, skipped: int = 0) -> bytes:
    """
    Pack C{lines} (oldest first) into one ASCII reply of at most C{limit}
    bytes: whole lines separated by C{\\n}, no terminator.

    The newest lines are kept.  If older lines do not fit, or C{skipped} lines
    were already dropped before, a first line says how many are not shown.  The
    newest line is always there, shortened (and marked) if it alone is too long.

    @param lines: text lines, each without a line end.
    @param limit: the most bytes the reply may have.
    @param skipped: lines dropped before these, to be counted in the notice.
    """
    encoded = [asciiText(line).encode("ascii") for line in lines]
    if not encoded:
        return skippedNotice(skipped).encode("ascii")[:limit] if skipped else b""
    if not skipped and sum(map(len, encoded)) + len(encoded) - 1 <= limit:
        return b"\n".join(encoded)
    kept: list[bytes] = []
    size = 0
    for index in range(len(encoded) - 1, -1, -1):
        line = encoded[index]
        dropped = skipped + index  # left out if this is the oldest line kept
        notice = len(skippedNotice(dropped)) + 1 if dropped else 0
        grown = size + len(line) + (1 if kept else 0)
        if grown + notice > limit:
            if not kept:  # the newest line alone is too long: shorten it
                kept.append(shorten(line, limit - notice))
                index -= 1
            break
        kept.append(line)
        size = grown
    else:
        index = -1
    dropped = skipped + index + 1
    if dropped:
        kept.append(skippedNotice(dropped).encode("ascii"))
    return b"\n".join(reversed(kept))


def packWelcome(head: Sequence[str], history: Sequence[str], limit: int = REPLY_LIMIT) -> bytes:
    """
    A welcome in one reply: all of C{head} (greeting, hint), then as much of
    C{history} (oldest first) as fits, newest kept, with a line saying how
    many older ones are not shown (see L{packLines}).
    """
    welcome = packLines(head, limit)
    if not history:
        return welcome
    return welcome + b"\n" + packLines(history, limit - len(welcome) - 1)


class HeldLines:
    """
    Lines waiting for a client that cannot take them yet, oldest first,
    bounded: past C{maxLines} lines or C{maxBytes} bytes the oldest are dropped
    and counted.

    Every idle client that has not shown what it is holds one of these, so it
    is kept small: slots, and a list whose dropped head is cut off now and
    then (a C{deque} costs over 600 bytes even when empty).

    @ivar size: the bytes held.
    @ivar dropped: how many older lines were dropped since the last L{take}.
    """

    __slots__ = ("maxLines", "maxBytes", "_lines", "_first", "size", "dropped")

    def __init__(self, maxLines: int = HELD_LINES, maxBytes: int = HELD_BYTES) -> None:
        self.maxLines = maxLines
        self.maxBytes = maxBytes
        self._lines: list[bytes] = []
        self._first = 0  # lines before this index were dropped
        self.size = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._lines) - self._first

    def add(self, line: bytes) -> None:
        """
        Hold C{line}; drop the oldest lines while over the bounds (the newest
        line itself is always kept).
        """
        lines = self._lines
        lines.append(line)
        self.size += len(line)
        while len(lines) - self._first > 1 and (
            len(lines) - self._first > self.maxLines or self.size > self.maxBytes
        ):
            self.size -= len(lines[self._first])
            self._first += 1
            self.dropped += 1
        if self._first > 32 and self._first * 2 > len(lines):
            del lines[: self._first]
            self._first = 0

    def take(self) -> tuple[list[str], int]:
        """
        Hand over everything held, as text lines (an entry holding several
        lines is split), and how many were dropped; start empty again.
        """
        text: list[str] = []
        for entry in self._lines[self._first :]:
            text.extend(entry.decode("utf-8", "replace").split("\n"))
        dropped = self.dropped
        self._lines = []
        self._first = self.size = self.dropped = 0
        return text, dropped
