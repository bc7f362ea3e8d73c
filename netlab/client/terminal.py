"""
Saving and restoring the terminal, and switching it to the mode the line editor needs.

StandardIO makes stdin and stdout non-blocking, and on a terminal those share one open file with
the shell; the interactive client also turns off echo and canonical input.  All of that must be
undone on every exit path -- or the user's shell is left without echo, or failing with EAGAIN.
"""

from __future__ import annotations

import os
import termios
from collections.abc import Sequence


class TerminalState:
    """
    Remember the blocking flags of the standard descriptors and the terminal attributes of stdin.

    L{restore} puts everything back and may be called any number of times.

    @ivar stdin: the descriptor whose terminal attributes are kept.
    """

    def __init__(self, stdin: int = 0, fds: Sequence[int] = (0, 1, 2)) -> None:
        """
        @param stdin: the descriptor whose terminal attributes to keep, if it is a terminal.
        @param fds: the descriptors whose blocking flags to keep.
        """
        self.stdin = stdin
        self._blocking: dict[int, bool] = {}
        for fd in fds:
            try:
                self._blocking[fd] = os.get_blocking(fd)
            except OSError:
                pass
        self._attrs: list | None = None
        if os.isatty(stdin):
            try:
                self._attrs = termios.tcgetattr(stdin)
            except termios.error:
                self._attrs = None

    def enterRawMode(self) -> None:
        """
        Turn off echo, canonical input and signal keys: the line editor sees every keystroke.

        Output processing stays on (C{\\n} still becomes C{\\r\\n}), and Ctrl-C arrives as a byte
        the editor turns into "leave at once".
        """
        if self._attrs is None:
            return
        attrs = termios.tcgetattr(self.stdin)
        attrs[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(self.stdin, termios.TCSANOW, attrs)

    def restore(self) -> None:
        """
        Put the terminal attributes and blocking flags back as they were.
        """
        if self._attrs is not None:
            try:
                termios.tcsetattr(self.stdin, termios.TCSADRAIN, self._attrs)
            except termios.error:
                pass
        for fd, blocking in self._blocking.items():
            try:
                os.set_blocking(fd, blocking)
            except OSError:
                pass


def terminalColumns(fd: int = 1) -> int:
    """
    The terminal's current width in columns (80 if it cannot be asked).

    @param fd: a descriptor open on the terminal.
    """
    try:
        return os.get_terminal_size(fd).columns or 80
    except OSError:
        return 80
