"""
A tiny line editor for a terminal in non-canonical mode, with its own screen redraw.

Why not let the terminal echo what the user types?  Because then the partially typed line lives in
the kernel, where the program cannot see it: a chat line arriving while the user types would be
printed into the middle of their input.  Keeping the edit buffer here lets the client erase the
prompt line, print the server's line, and draw the prompt and the unfinished input again below it.

Everything here is pure (bytes in, events and screen text out), so it is tested without a terminal.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass

from netlab.client.text import displayWidth

CTRL_C = "\x03"
CTRL_D = "\x04"
CTRL_L = "\x0c"
CTRL_U = "\x15"
CTRL_W = "\x17"
BACKSPACES = ("\x7f", "\x08")
ESC = "\x1b"


@dataclass(frozen=True)
class Key:
    """
    Something the user did that the session must act on.

    @ivar kind: C{"line"} (Enter), C{"eof"} (Ctrl-D on an empty line) or C{"interrupt"} (Ctrl-C).
    @ivar text: the finished line, for C{"line"}.
    """

    kind: str
    text: str = ""


class LineEditor:
    """
    Collect keystrokes into an edit buffer, producing L{Key} events and the screen updates to
    write.

    The cursor always stays at the end of the input: backspace, Ctrl-U (erase line) and Ctrl-W
    (erase word) edit there, escape sequences such as arrow keys are swallowed rather than
    inserted, Ctrl-L redraws.  A carriage return followed by a line feed counts as one Enter, so a
    pasted CRLF text does not produce an empty line (which would mean "leave").

    @ivar prompt: what is shown before the input.
    @ivar buffer: the input typed so far.
    """

    def __init__(self, prompt: str = "> ", columns: Callable[[], int] = lambda: 80) -> None:
        """
        @param prompt: what is shown before the input.
        @param columns: returns the terminal's current width, to know where the input wraps.
        """
        self.prompt = prompt
        self.buffer = ""
        self._columns = columns
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._escape = ""  # the escape sequence being swallowed, if any
        self._afterCR = False
        self._shown = False  # whether the prompt line is currently on screen

    def feed(self, data: bytes) -> tuple[list[Key], str]:
        """
        Process keystroke bytes.

        @param data: bytes from the terminal (a multi-byte character may be split across calls).
        @return: the events they caused, and the screen text to write.
        """
        keys: list[Key] = []
        out: list[str] = []
        for char in self._decoder.decode(data):
            out.append(self._key(char, keys))
        return keys, "".join(out)

    def _key(self, char: str, keys: list[Key]) -> str:
        """
        Handle one character, appending any event to C{keys}; return the screen update.
        """
        afterCR, self._afterCR = self._afterCR, char == "\r"
        if self._escape or char == ESC:
            self._swallowEscape(char)
            return ""
        if char in "\r\n":
            if char == "\n" and afterCR:
                return ""
            line, self.buffer = self.buffer, ""
            keys.append(Key("line", line))
            return "\n" + self.prompt
        if char == CTRL_C:
            keys.append(Key("interrupt"))
            return ""
        if char == CTRL_D:
            if not self.buffer:
                keys.append(Key("eof"))
            return ""
        return self._edit(char)

    def _edit(self, char: str) -> str:
        """
        Apply an editing key or insert a printable character; return the screen update.
        """
        if char in BACKSPACES:
            return self._replaceBuffer(self.buffer[:-1])
        if char == CTRL_U:
            return self._replaceBuffer("")
        if char == CTRL_W:
            stripped = self.buffer.rstrip(" ")
            return self._replaceBuffer(stripped[: stripped.rfind(" ") + 1])
        if char == CTRL_L:
            return self.redraw()
        if char == "\t":
            char = " "
        if not char.isprintable():
            return ""
        self.buffer += char
        return char

    def _replaceBuffer(self, new: str) -> str:
        """
        Set the buffer to C{new} and return the redraw that shows it (nothing if unchanged).
        """
        if new == self.buffer:
            return ""
        erase = self.erase()
        self.buffer = new
        return erase + self.prompt + self.buffer

    def _swallowEscape(self, char: str) -> None:
        """
        Consume an escape sequence (ESC [ ... final, ESC O x, ESC x) one character at a time.
        """
        self._escape += char
        seq = self._escape
        if len(seq) == 1:
            return
        if seq[1] == "[":
            done = len(seq) > 2 and "\x40" <= char <= "\x7e"
        elif seq[1] == "O":
            done = len(seq) == 3
        else:
            done = True
        if done:
            self._escape = ""

    def rowsAboveCursor(self) -> int:
        """
        How many screen rows above the cursor the prompt line started, given wrapping.
        """
        width = displayWidth(self.prompt + self.buffer)
        columns = max(self._columns(), 1)
        return max(width - 1, 0) // columns

    def erase(self) -> str:
        """
        Return text that moves to the prompt line's start and clears it (wrapped rows too).
        """
        rows = self.rowsAboveCursor()
        up = f"\x1b[{rows}A" if rows else ""
        return "\r" + up + "\x1b[J"

    def redraw(self) -> str:
        """
        Return the text that erases and redraws the prompt with the unfinished input.
        """
        self._shown = True
        return self.erase() + self.prompt + self.buffer

    def show(self, line: str) -> str:
        """
        Return the text that prints C{line} above the prompt, leaving the user's input intact.
        """
        if not self._shown:
            return line + "\n"
        return self.erase() + line + "\n" + self.prompt + self.buffer

    def hide(self) -> str:
        """
        Return the text that removes the prompt line from the screen (when the client exits).
        """
        if not self._shown:
            return ""
        self._shown = False
        return self.erase()
