"""
Turning the server's bytes into safe, printable lines.

Everything a server sends passes through here before it reaches the user's screen: the bytes are
split into lines (tolerating C{\\n} and C{\\r\\n}), decoded as UTF-8 with replacement characters
(a server that sends bad bytes must never crash the client), and scrubbed of control characters and
ANSI escape sequences by L{netlab.text}, so that no server can move the cursor, recolour, retitle
or otherwise drive the user's terminal.
"""

from __future__ import annotations

import unicodedata

from netlab.text import decode, scrub

#: A partial line longer than this is handed out as a line of its own, so that a server that never
#: sends a newline cannot make the client buffer without bound.
MAX_LINE_BYTES = 64 * 1024


def printable(data: bytes) -> str:
    """
    Decode and scrub one line of server bytes: the text that is safe to show the user.

    A server never negotiates telnet with the client, so a 0xFF byte is just an invalid byte
    (shown as U+FFFD); tabs are kept, since they cannot drive the terminal.

    @param data: one line, without its terminator.
    @return: the text to show.
    """
    return scrub(decode(data, telnet=False), keepTabs=True)


def displayWidth(text: str) -> int:
    """
    How many terminal columns C{text} occupies (wide East Asian characters take two).

    Needed to know how many screen rows a wrapped prompt line covers when it has to be redrawn.
    """
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


class LineBuffer:
    """
    Split a byte stream into lines at C{\\n}, dropping one trailing C{\\r} from each.

    Servers end lines in C{\\r\\n} or C{\\n} (netlab mirrors the client's own terminator);
    accepting both keeps the client working with either and with other servers speaking the same
    protocols.  Lines are returned as bytes; decoding happens per line, which is safe because
    C{\\n} never occurs inside a multi-byte UTF-8 sequence.
    """

    def __init__(self, maxLine: int = MAX_LINE_BYTES) -> None:
        """
        @param maxLine: the longest partial line kept, in bytes; a longer one is handed out in
            pieces of this size.
        """
        self._pending = b""
        self._maxLine = maxLine

    def feed(self, data: bytes) -> list[bytes]:
        """
        Add C{data} and return the complete lines it finished, without their terminators.
        """
        *lines, self._pending = (self._pending + data).split(b"\n")
        while len(self._pending) > self._maxLine:
            lines.append(self._pending[: self._maxLine])
            self._pending = self._pending[self._maxLine :]
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]

    def flush(self) -> list[bytes]:
        """
        Return the unterminated rest (as a last line) once the stream has ended, if any.
        """
        rest, self._pending = self._pending, b""
        if rest.endswith(b"\r"):
            rest = rest[:-1]
        return [rest] if rest else []
