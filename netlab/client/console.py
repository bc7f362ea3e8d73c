"""
The user's side: what goes to the screen and how keystrokes or piped lines become input.

Two screens share one small interface so the conversation logic does not care where it runs:
L{TerminalScreen} for a person at a terminal (own line editor, prompt redrawn around server lines)
and L{PlainScreen} for pipes and files (lines in, lines out, nothing else).  L{ConsoleProtocol}
connects either to L{twisted.internet.stdio.StandardIO}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol as TypingProtocol

from twisted.internet import defer
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from netlab.client.editor import Key, LineEditor
from netlab.client.text import LineBuffer
from netlab.text import decode


class Screen(TypingProtocol):
    """
    The interface a conversation uses to show text and to read the user's input.
    """

    interactive: bool

    def start(self) -> None:
        """
        The connection is up: prepare for input (e.g. draw the prompt).
        """

    def show(self, line: str) -> None:
        """
        Show one (already scrubbed) server line.

        @param line: the line, without its terminator.
        """

    def feed(self, data: bytes) -> list[Key]:
        """
        Turn input bytes into L{Key} events.

        @param data: bytes typed or piped in.
        @return: the events they finished, in order.
        """

    def endOfInput(self) -> list[Key]:
        """
        Input ended: return the events for anything left unterminated.
        """

    def stop(self) -> None:
        """
        No more input is wanted: remove the prompt.
        """


class PlainScreen:
    """
    Lines out, lines in: for stdin or stdout that is not a terminal, so the client is scriptable.

    Every input line becomes a L{Key} C{"line"}; an unterminated last line still counts, because
    C{printf 'I feel sad' | netlab doctor} clearly means to send it.
    """

    interactive = False

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._input = LineBuffer()

    def start(self) -> None:
        """
        Nothing to draw without a terminal.
        """

    def show(self, line: str) -> None:
        """
        Write the line and a newline.
        """
        self._write(line + "\n")

    def feed(self, data: bytes) -> list[Key]:
        """
        Split piped input into lines.
        """
        return [Key("line", decode(line, telnet=False)) for line in self._input.feed(data)]

    def endOfInput(self) -> list[Key]:
        """
        Return the unterminated last line, if any.
        """
        return [Key("line", decode(line, telnet=False)) for line in self._input.flush()]

    def stop(self) -> None:
        """
        Nothing to remove without a terminal.
        """


class TerminalScreen:
    """
    A person at a terminal: keystrokes go through a L{LineEditor}; server lines print above the
    prompt.

    @ivar editor: the line editor that holds the unfinished input.
    """

    interactive = True

    def __init__(
        self,
        write: Callable[[str], None],
        editor: LineEditor,
        rawMode: Callable[[], None] = lambda: None,
    ) -> None:
        """
        @param write: writes text to the terminal.
        @param editor: the line editor for the user's input.
        @param rawMode: called when input starts, to switch the terminal to non-canonical, no-echo
            mode; injected so that tests (and a terminal that is already set up) need no real
            terminal.
        """
        self._write = write
        self.editor = editor
        self._rawMode = rawMode
        self._active = False

    def start(self) -> None:
        """
        Enter raw mode and draw the prompt.
        """
        self._rawMode()
        self._active = True
        self._write(self.editor.redraw())

    def show(self, line: str) -> None:
        """
        Print the line above the prompt and redraw the prompt with the unfinished input.
        """
        self._write(self.editor.show(line))

    def feed(self, data: bytes) -> list[Key]:
        """
        Edit the input line; echo only while input is wanted (Ctrl-C is seen even after).
        """
        keys, echo = self.editor.feed(data)
        if self._active:
            self._write(echo)
        return keys

    def endOfInput(self) -> list[Key]:
        """
        The terminal went away (hang-up): treat it like Ctrl-D.
        """
        return [Key("eof")]

    def stop(self) -> None:
        """
        Erase the prompt line and stop echoing input.
        """
        if self._active:
            self._active = False
            self._write(self.editor.hide())


class ConsoleSink(TypingProtocol):
    """
    What L{ConsoleProtocol} reports to.
    """

    def userInput(self, data: bytes) -> None:
        """
        Bytes typed or piped in.
        """

    def userEof(self) -> None:
        """
        Standard input reached its end.
        """

    def outputLost(self) -> None:
        """
        Standard output was closed by its reader (e.g. C{| head -1}).
        """


@implementer(IHalfCloseableProtocol)
class ConsoleProtocol(Protocol):
    """
    The protocol given to C{StandardIO}: forwards input and end-of-input to the conversation.

    It implements L{IHalfCloseableProtocol} because without it C{StandardIO} treats the end of
    stdin as the end of everything and closes stdout too -- and C{echo hi | netlab doctor} would
    lose the reply it is still waiting for.

    @ivar sink: what hears about input, end of input and lost output; L{None} until set.
    """

    def __init__(self) -> None:
        self.sink: ConsoleSink | None = None
        self._lost: defer.Deferred[None] = defer.Deferred()
        self._isLost = False
        self._outputGone = False

    def dataReceived(self, data: bytes) -> None:
        """
        Forward input bytes.
        """
        if self.sink is not None:
            self.sink.userInput(data)

    def readConnectionLost(self) -> None:
        """
        Standard input ended; standard output stays open for the replies still to come.
        """
        if self.sink is not None:
            self.sink.userEof()

    def writeConnectionLost(self) -> None:
        """
        Standard output is gone; nothing we print can be seen any more.
        """
        self._outputGone = True
        if self.sink is not None:
            self.sink.outputLost()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Both directions are closed; everything we wrote has been flushed.
        """
        self._isLost = True
        self._lost.callback(None)

    def close(self) -> defer.Deferred[None]:
        """
        Flush and close standard output; the result fires once that is done.
        """
        if self._outputGone and not self._isLost:
            # StandardIO reports no connectionLost once stdout is gone: only stop reading.
            self.transport.loseConnection()
            return defer.succeed(None)
        if not self._isLost:
            self.transport.loseConnection()
        return self._lost

    def writeText(self, text: str, encoding: str = "utf-8") -> None:
        """
        Write text to standard output.

        @param text: the text to write.
        @param encoding: the encoding of standard output; characters it cannot encode become
            C{?}.
        """
        if text and not self._isLost and not self._outputGone:
            self.transport.write(text.encode(encoding, errors="replace"))
