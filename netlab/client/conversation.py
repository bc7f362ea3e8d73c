"""
The conversation with a chat or doctor server: when to send, when to wait, when to leave.

This is the client's logic, free of sockets and terminals: it talks to a L{LineProtocol} on one
side and a L{Screen} on the other, and measures time only through the injected clock.  C{done}
fires with an L{Outcome} (exit status and an optional one-line message) once the connection is
fully closed, so that everything the client sent -- a farewell such as C{/quit} -- has reached the
server.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet import defer, error
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from netlab.client.connect import LineProtocol
from netlab.client.console import Screen
from netlab.client.editor import Key
from netlab.client.errors import Target, TLSError, describeFailure
from netlab.ports import PORTS

#: Exit status after Ctrl-C, as shells report a process ended by SIGINT.
INTERRUPTED = 130

#: How a netlab service in lab mode (C{twistd netlab --lab ...}, see L{netlab.lab}) begins the
#: first line it sends: a notice of its own, put before the greeting, which answers nothing.
LAB_NOTICE = "* lab mode: "


@dataclass(frozen=True)
class Service:
    """
    How one line service behaves, as far as the client needs to know.

    @ivar name: the service's name, which is also its sub-command.
    @ivar farewell: the line that leaves politely (C{/quit}, C{bye}).
    @ivar farewellAtEof: whether to send it when piped input ends too.  The chat server answers
        nothing, so C{/quit} (processed after everything we sent) is how we learn it is done; the
        doctor answers every line, so counting replies is enough and a farewell would only add one.
    @ivar countsReplies: whether the server answers every line with exactly one line.
    @ivar greetingLines: how many lines the server sends on connect, for reply counting (not
        counting the notice a netlab server in lab mode puts first, L{LAB_NOTICE}).
    @ivar defaultPort: the netlab port of the service.
    """

    name: str
    defaultPort: int
    farewell: str
    farewellAtEof: bool
    countsReplies: bool
    greetingLines: int


CHAT = Service(
    "chat", PORTS["chat"], "/quit", farewellAtEof=True, countsReplies=False, greetingLines=0
)
DOCTOR = Service(
    "doctor", PORTS["doctor"], "bye", farewellAtEof=False, countsReplies=True, greetingLines=1
)


@dataclass(frozen=True)
class Outcome:
    """
    How the client ends: an exit status and, optionally, one line for stderr.
    """

    status: int
    message: str | None = None


CLOSED_BY_SERVER = Outcome(0, "Connection closed by server.")


class Conversation:
    """
    Drive one connection to a line service from connect to exit.

    Interactive: each line typed is sent; an empty line or Ctrl-D sends the farewell and waits (at
    most C{grace} seconds after the last expected reply) for the server to close; Ctrl-C drops the
    connection at once.  Piped: lines are sent as read (blank ones skipped: the servers ignore them
    anyway), and once input ends the client waits for the owed replies (doctor) or for the server
    to process its farewell (chat), then exits.  A reply that is owed but does not come within
    C{timeout} seconds ends the client with an error.

    @ivar done: fires with the L{Outcome} once the connection is fully closed.
    @ivar network: the connection once it is ready, until it is lost; else L{None}.
    """

    def __init__(
        self,
        service: Service,
        screen: Screen,
        clock: IReactorTime,
        target: Target,
        *,
        timeout: float,
        grace: float,
        opening: tuple[str, ...] = (),
    ) -> None:
        """
        @param service: the service on the other end.
        @param screen: where server lines go and input comes from.
        @param clock: what measures C{timeout} and C{grace}.
        @param target: what the messages call the server.
        @param timeout: seconds to wait for an owed reply, or for a polite close to complete.
        @param grace: seconds to wait for the server to close after the farewell.
        @param opening: lines to send right after connecting (e.g. C{/nick bob}).
        """
        self.service = service
        self.screen = screen
        self.clock = clock
        self.target = target
        self.timeout = timeout
        self.grace = grace
        self.opening = opening
        self.done: defer.Deferred[Outcome] = defer.Deferred()
        self.network: LineProtocol | None = None
        self._connecting: defer.Deferred[LineProtocol] | None = None
        self._outcome: Outcome | None = None
        self._leaving = False
        # leave(farewell) asked for before the connection was ready:
        self._deferredLeave: bool | None = None
        self._farewellSent = False
        self._owed = service.greetingLines  # lines the server still owes us (counting services)
        self._heardLine = False  # whether a whole line has come from the server yet
        self._timer: IDelayedCall | None = None

    # -- connection -------------------------------------------------------------------------------

    def start(self, connecting: defer.Deferred[LineProtocol]) -> None:
        """
        Wait for C{connecting}; then start the conversation, or end with its failure.
        """
        self._connecting = connecting
        connecting.addCallbacks(self._connected, self._connectFailed)

    def _connected(self, network: LineProtocol) -> None:
        """
        The connection is ready: start input and send the opening lines (e.g. C{/nick}).
        """
        self._connecting = None
        self.network = network
        if self._outcome is not None:  # interrupted in the same instant
            network.abort()
            return
        self.screen.start()
        # netlab's servers cannot tell a line client from the course's lockstep
        # programs until it sends something, and until then leave the greeting's
        # last line unended and hold room lines back; an empty line (which they
        # ignore) says at once that this is a line client.
        network.sendLine("")
        for line in self.opening:
            self.send(line)
        if self._deferredLeave is not None:
            self._leaving = False
            self.leave(self._deferredLeave)

    def _connectFailed(self, failure: Failure) -> None:
        """
        Connecting failed (or was cancelled by Ctrl-C): end with the reason.
        """
        self._connecting = None
        if self._outcome is None:
            self._outcome = Outcome(1, describeFailure(failure, self.target, self.timeout))
            self.screen.stop()
        self.done.callback(self._outcome)

    def send(self, line: str) -> None:
        """
        Send one line; for counting services, the server now owes one more reply.
        """
        assert self.network is not None
        self.network.sendLine(line)
        if self.service.countsReplies:
            self._owed += 1

    # -- events from the server -------------------------------------------------------------------

    def serverActivity(self) -> None:
        """
        Bytes came from the server: while leaving, the wait for it starts over.

        Even when they end no line: under C{--lab split=N} a long line takes a while to arrive
        whole, and the server is not silent meanwhile.
        """
        if self._leaving and self._outcome is None and self._timer is not None:
            self._checkLeaving()

    def serverLine(self, text: str) -> None:
        """
        Show a server line; while leaving, it may be the last reply we were waiting for.

        The lab notice (L{LAB_NOTICE}), which can only be the first line, is shown but is neither
        the greeting nor a reply.
        """
        self.screen.show(text)
        notice = not self._heardLine and text.startswith(LAB_NOTICE)
        self._heardLine = True
        if self.service.countsReplies and self._owed > 0 and not notice:
            self._owed -= 1
        if self._leaving and self._outcome is None:
            self._checkLeaving()

    def serverClosed(self, reason: Failure) -> None:
        """
        The connection is gone: finish with the outcome already decided, or decide it now.
        """
        self.network = None
        self._cancelTimer()
        if self._outcome is None:
            self._outcome = self._closedOutcome(reason)
            self.screen.stop()
        self.done.callback(self._outcome)

    def _closedOutcome(self, reason: Failure) -> Outcome:
        """
        Decide how to end when the server closed the connection on its own.
        """
        if reason.check(TLSError):
            return Outcome(1, describeFailure(reason, self.target, self.timeout))
        if self._farewellSent:
            return Outcome(0)  # we said goodbye: closing is the server's answer
        if reason.check(error.ConnectionDone):
            return CLOSED_BY_SERVER
        return Outcome(1, f"netlab: connection to {self.target} lost: {reason.getErrorMessage()}")

    # -- events from the user ---------------------------------------------------------------------

    def userInput(self, data: bytes) -> None:
        """
        Handle typed or piped bytes.
        """
        for key in self.screen.feed(data):
            self._key(key)

    def userEof(self) -> None:
        """
        Input ended: send what was left unterminated, then leave.
        """
        for key in self.screen.endOfInput():
            self._key(key)
        if not self.screen.interactive:
            self.leave(farewell=self.service.farewellAtEof)

    def outputLost(self) -> None:
        """
        Nobody reads our output any more (C{| head}): leave politely, quietly.
        """
        self.leave(farewell=True)

    def _key(self, key: Key) -> None:
        """
        Act on one input event.
        """
        if key.kind == "interrupt":
            self.interrupt()
        elif self._leaving or self.network is None:
            return
        elif key.kind == "eof":
            self.leave(farewell=True)
        elif key.text.strip():
            self.send(key.text)
        elif self.screen.interactive:
            self.leave(farewell=True)  # an empty line ends the session, as in the course's client

    def interrupt(self) -> None:
        """
        Ctrl-C: drop the connection (or the attempt to make one) at once.
        """
        if self._outcome is not None:
            return
        self._finish(Outcome(INTERRUPTED), abort=True)
        if self._connecting is not None:
            self._connecting.cancel()

    # -- leaving ----------------------------------------------------------------------------------

    def leave(self, farewell: bool) -> None:
        """
        Stop taking input and wind down: send the farewell if asked, then wait as needed.

        @param farewell: whether to send the service's farewell line first.
        """
        if self._leaving or self._outcome is not None:
            return
        self._leaving = True
        self.screen.stop()
        if self.network is None:
            self._deferredLeave = farewell
            return
        if farewell:
            self.send(self.service.farewell)
            self._farewellSent = True
        self._checkLeaving()

    def _checkLeaving(self) -> None:
        """
        While leaving: wait for owed replies, then for the server to close (or close it).
        """
        if self.service.countsReplies and self._owed > 0:
            self._setTimer(self.timeout, self._replyTimedOut)
        elif self._farewellSent:
            self._setTimer(self.grace, lambda: self._finish(Outcome(0)))
        else:
            self._finish(Outcome(0))

    def _replyTimedOut(self) -> None:
        """
        The server owes replies but has been silent for C{timeout} seconds.
        """
        message = f"netlab: no reply from {self.target} within {self.timeout:g} s"
        self._finish(Outcome(1, message))

    def _finish(self, outcome: Outcome, abort: bool = False) -> None:
        """
        Decide the outcome and close the connection; C{done} fires once it is closed.
        """
        if self._outcome is not None:
            return
        self._outcome = outcome
        self._cancelTimer()
        self.screen.stop()
        if self.network is None:
            if self._connecting is None:
                self.done.callback(outcome)
            return
        if abort:
            self.network.abort()
        else:
            self.network.close()
            # A server that stops reading could keep our farewell unsent forever.
            self._setTimer(self.timeout, self._abortNetwork)

    def _abortNetwork(self) -> None:
        """
        Closing politely took too long: drop the connection.
        """
        if self.network is not None:
            self.network.abort()

    # -- timer ------------------------------------------------------------------------------------

    def _setTimer(self, delay: float, action: object) -> None:
        """
        (Re)start the single timer of the conversation.
        """
        self._cancelTimer()
        self._timer = self.clock.callLater(delay, action)

    def _cancelTimer(self) -> None:
        """
        Stop the timer if it is running.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
