"""Turning the server's bytes into safe, printable lines.

Everything a server sends passes through here before it reaches the user's screen: the bytes are
split into lines (tolerating ``\\n`` and ``\\r\\n``), decoded as UTF-8 with replacement characters
(a server that sends bad bytes must never crash the client), and stripped of control characters and
ANSI escape sequences, so that no server can move the cursor, recolour, retitle or otherwise drive
the user's terminal.
"""

from __future__ import annotations

import re
import unicodedata

#: A partial line longer than this is handed out as a line of its own, so that a server that never
#: sends a newline cannot make the client buffer without bound.
MAX_LINE_BYTES = 64 * 1024

# ANSI/ECMA-48 sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC strings (ESC ] ... BEL or ST),
# and two-character escapes (ESC + one byte).  The 8-bit C1 forms (U+009B CSI, U+009D OSC, ...) are
# matched too, because a UTF-8 server can send them as code points.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?                       # CSI ... final byte
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)  # string commands up to BEL/ST
  | \x1b[ -/]*[0-~]?                                        # other escapes, e.g. ESC ( B, ESC c
    """,
    re.VERBOSE | re.DOTALL,
)

# C0 controls except TAB, DEL, and C1 controls.
# C0/C1 controls (TAB kept), and the invisible characters that disguise a line:
# bidi controls, zero-width characters, line and paragraph separators.
_CONTROLS = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def decode(data: bytes) -> str:
    """Decode server bytes as UTF-8, replacing invalid sequences with U+FFFD instead of failing."""
    return data.decode("utf-8", errors="replace")


def sanitize(text: str) -> str:
    """Remove ANSI escape sequences and control characters (keeping TAB) from C{text}.

    Server text is untrusted: without this a chat peer or a hostile server could clear the user's
    screen, fake a prompt, or change the terminal's title.
    """
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def printable(data: bytes) -> str:
    """Decode and sanitize one line of server bytes: the text that is safe to show the user."""
    return sanitize(decode(data))


def display_width(text: str) -> int:
    """Return how many terminal columns C{text} occupies (wide East Asian characters take two).

    Needed to know how many screen rows a wrapped prompt line covers when it has to be redrawn.
    """
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


class LineBuffer:
    """Split a byte stream into lines at ``\\n``, dropping one trailing ``\\r`` from each.

    Servers end lines in ``\\r\\n`` or ``\\n`` (netlab mirrors the client's own terminator);
    accepting both keeps the client working with either and with other servers speaking the same
    protocols.  Lines are returned as bytes; decoding happens per line, which is safe because
    ``\\n`` never occurs inside a multi-byte UTF-8 sequence.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self._pending = b""
        self._max_line = max_line

    def feed(self, data: bytes) -> list[bytes]:
        """Add C{data} and return the complete lines it finished, without their terminators."""
        *lines, self._pending = (self._pending + data).split(b"\n")
        while len(self._pending) > self._max_line:
            lines.append(self._pending[: self._max_line])
            self._pending = self._pending[self._max_line :]
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]

    def flush(self) -> list[bytes]:
        """Return the unterminated rest (as a last line) once the stream has ended, if any."""
        rest, self._pending = self._pending, b""
        if rest.endswith(b"\r"):
            rest = rest[:-1]
        return [rest] if rest else []
