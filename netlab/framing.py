"""
Message framing shared by the conversational services (Chat and the Doctor).

Three kinds of client talk to these services, and L{MessageReceiver} serves all
of them on the same port without being told which is which:

  - C{nc} sends lines ending in C{\\n}; C{telnet} and most programs C{\\r\\n}.  A
    message ends at either.  (C{LineReceiver}'s default C{\\r\\n} delimiter would
    never see an C{nc} user's line.)
  - The course's blocking clients send a bare message with no terminator at all
    and then wait in C{recv(1024)}.  Bytes left unterminated for C{bareDelay}
    seconds are taken as one message -- but only on a connection that has never
    sent a terminator, so a line-mode client's partial line is never split.
    Replies to such a connection carry no terminator either, so the course's
    client prints them exactly as the lecture shows.
  - Telnet clients also send IAC command sequences (for example on Ctrl-C).
    From the first IAC on they go through L{netlab.telnet.TelnetFilter}, which
    answers negotiations (so telnet keeps showing output after Ctrl-C) and
    passes the data between them on untouched.

Which kind a client is shows only in its first message, but the greeting goes
out on connect.  So until then (and, for lockstep clients, always) what is sent
is plain ASCII, whole lines separated by C{\\n}, at most 1,024 bytes, with no
final terminator -- what the course's client prints as the lecture shows.  The
terminator is owed: a client that turns out to be line mode gets it first, so
its lines stay whole (see L{MessageReceiver.mode}).

Text is UTF-8; invalid bytes are replaced, never fatal (L{netlab.text}).  A
line longer than C{maxLineLength} bytes is refused with one C{ERR} line and the
rest of it is discarded, so the connection stays usable and memory stays
bounded.  (A bare message that long ends, as any bare message, when its client
pauses for the answer: the C{ERR} is that answer.)

Output is flow-controlled: the protocol registers itself as its transport's
producer, and while the transport's buffer is full (the peer is not reading) it
holds the peer's messages back and, past L{READ_AHEAD} bytes, stops reading
from the peer too.  A peer that sends without reading therefore cannot make the
server queue replies without bound.

Subclasses implement L{MessageReceiver.messageReceived} (and may implement
C{bareMessageReceived}, C{lineModeStarted}, C{peerFinished}), and may override
the hooks at the end of the class -- C{watchIdle}, C{peerHeard},
C{outputPaused}, C{outputResumed} -- and use C{spendTurn}, C{holdInput},
C{releaseInput} and C{reportLimit}.  Nothing else of the class is theirs to
call or override.

Every message handled is counted, and every limit hit reported, to the
connection the transport is watched as (C{transport.monitored}, the guard's
wrapper: L{netlab.monitor}), if there is one.
"""

from __future__ import annotations

from twisted.internet.interfaces import (
    IDelayedCall,
    IHalfCloseableProtocol,
    IPushProducer,
    IReactorTime,
)
from twisted.internet.protocol import ServerFactory
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from netlab.fairness import TurnBudget, addressKey
from netlab.flow import FlowControl, setReadSize
from netlab.lockstep import packLines
from netlab.monitor import LIMIT, TIMEOUT
from netlab.ratelimit import Rate
from netlab.telnet import TelnetFilter

#: The default cap on one message, in bytes.
MAX_LINE = 4096

#: How long a bare (unterminated) message may sit before it is taken as complete.
BARE_DELAY = 0.1

#: The daemon's idle timeout: a client heard nothing from for this long is
#: closed (Chat, the Doctor, Echo, Discard).  A factory built without one has none.
IDLE_TIMEOUT = 30 * 60.0


#: Unhandled input a connection may hold while its messages wait (its peer is
#: not reading our replies) before we stop reading from it.  Not stopping at
#: once matters: a TLS transport "pauses" us while its handshake is under way,
#: and the handshake needs reading to go on.
READ_AHEAD = 65536

#: Telnet commands one connection may have parsed in one reactor turn; what it
#: sent after them waits for the next turn.  Commands are parsed a byte at a
#: time, and one read of nothing but C{IAC DO} took ~0.3 s: everyone waited.
TELNET_COMMANDS_PER_TURN = 64

#: L{MessageReceiver.mode} of a client that has sent terminated lines.
LINE = "line"

#: L{MessageReceiver.mode} of a client that sends bare messages and reads each
#: answer with one C{recv(1024)} (the course's programs).
LOCKSTEP = "lockstep"

def _lastCharacterSize(data: bytes) -> int:
    """
    How many bytes the last character of C{data} takes in UTF-8 (1 for a byte
    that is not part of a valid character; 0 for no data).
    """
    for size in range(1, min(len(data), 4) + 1):
        try:
            if len(data[-size:].decode("utf-8")) == 1:
                return size
        except UnicodeDecodeError:
            continue
    return min(len(data), 1)


def _afterCommands(data: bytes, count: int) -> int | None:
    """
    Where the C{count}th IAC byte of C{data} is (what comes from there on
    waits for the next turn), or L{None} if there are no more than that.
    """
    at = -1
    for _ in range(count + 1):
        at = data.find(b"\xff", at + 1)
        if at < 0:
            return None
    return at


class MessageFactory(ServerFactory):
    """
    Base factory for L{MessageReceiver} services: the clock and framing limits
    their protocols read in C{connectionMade}.
    """

    noisy = False

    #: How much one read from a peer takes at most, or L{None} for Twisted's
    #: default (64 KiB).  What was read stays here while the peer's messages
    #: wait (for their turn, their pace, or a reader), so this bounds the input
    #: a connection holds.
    readSize: int | None = None

    def __init__(
        self,
        clock: IReactorTime,
        maxLineLength: int = MAX_LINE,
        bareDelay: float = BARE_DELAY,
        idleTimeout: float | None = None,
        rate: Rate | None = None,
    ) -> None:
        self.clock = clock
        self.maxLineLength = maxLineLength
        self.bareDelay = bareDelay
        self.idleTimeout = idleTimeout or None
        self.rate = rate
        #: Shared with the other services by the daemon (L{netlab.tap}).
        self.turnBudget = TurnBudget(clock)



@implementer(IPushProducer, IHalfCloseableProtocol)
class MessageReceiver(FlowControl, TimeoutMixin):
    """
    A protocol that receives whole text messages and sends text messages back.

    Subclasses implement L{messageReceived} and use L{sendMessage}.  The factory
    (a L{MessageFactory}, or anything with its attributes) provides C{clock}
    and C{turnBudget}, and may provide C{maxLineLength}, C{bareDelay} and
    C{idleTimeout} (seconds; L{None} or 0 for none).  They are read from the
    factory, not copied: an idle connection costs less that way.

    @ivar terminator: what ends the messages sent to this peer: whatever it uses
        itself (C{\\r\\n} or C{\\n}) once it sent a line; C{b""} before that and
        for bare (lockstep) clients.
    @ivar mode: L{None} until the peer's first message shows what it is, then
        L{LINE} or L{LOCKSTEP}.  A lockstep client that later sends a terminator
        becomes a line client.
    """

    terminator = b""
    mode: str | None = None
    _buffer = b""
    _discarding = False
    _refusalOwed = False  # (an over-long bare message, not refused yet)
    _lineMode = False
    _bareCall: IDelayedCall | None = None
    owed = False
    _telnet: TelnetFilter | None = None
    _telnetPending = b""

    # Wiring

    @property
    def maxLineLength(self) -> int:
        """
        The longest message accepted, in bytes.
        """
        return getattr(self.factory, "maxLineLength", MAX_LINE)

    @property
    def bareDelay(self) -> float:
        """
        How long an unterminated message may sit before it is complete.
        """
        return getattr(self.factory, "bareDelay", BARE_DELAY)

    def connectionMade(self) -> None:
        self.peerKey = addressKey(self.transport.getPeer())
        readSize = getattr(self.factory, "readSize", None)
        if readSize:
            setReadSize(self.transport, readSize)
        self.transport.registerProducer(self, True)
        self.watchIdle(getattr(self.factory, "idleTimeout", None) or None)

    def callLater(self, period, func):  # TimeoutMixin's hook, here bound to our clock
        return self.clock.callLater(period, func)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.watchIdle(None)
        self._cancelBare()
        self.cancelWaits()

    def timeoutConnection(self) -> None:
        self.reportLimit("idle timeout", TIMEOUT)
        self.sendError("idle timeout")
        self.transport.loseConnection()

    # Receiving

    def dataReceived(self, data: bytes) -> None:
        """
        Split what arrived into messages; keep the unterminated rest.  From the
        first telnet command (IAC) on, commands go through L{TelnetFilter}.
        """
        telnetFilter = self._telnet
        if b"\xff" not in data and (telnetFilter is None or telnetFilter.state == "data"):
            if not self._telnetPending:
                self._receive(data)
                return
        self.peerHeard()
        if telnetFilter is None:
            telnetFilter = self._telnet = TelnetFilter(self)
            # A telnet client: a line client (NVT lines end in CR LF), whose
            # partial lines are never bare messages.
            self._lineMode = True
            self._cancelBare()
            if self.mode is not LINE:
                if self.terminator != b"\r\n":
                    self.terminatorChanging()
                self.terminator = b"\r\n"
                self.mode = LINE
                self.lineModeStarted()
        if self._telnetPending:  # (it came while what was sent before waits)
            data, self._telnetPending = self._telnetPending + data, b""
        cut = _afterCommands(data, TELNET_COMMANDS_PER_TURN)
        if cut is not None:
            # A flood of commands: each slice of them counts as a message
            # against the connection's pace and its address's turn.
            if not self.mayHandle(0):
                self._telnetPending = data
                return
            data, self._telnetPending = data[:cut], data[cut:]
            self.waitForNextTurn()
        telnetFilter.feed(data)

    def telnetDataReceived(self, data: bytes) -> None:
        """
        Data from between telnet commands.
        """
        self._receive(data)

    def telnetCommandReceived(self, name: str) -> None:
        """
        A telnet command other than option negotiation.  IP (Ctrl-C), BRK,
        SUSP, ABORT and EL discard the line being typed; EC erases its last
        character; AYT gets a visible answer; an over-long stray
        subnegotiation is refused like an over-long line; the rest need nothing.
        """
        if name in ("IP", "BRK", "SUSP", "ABORT", "EL"):
            if not self._discarding:
                self._buffer = b""
        elif name == "EC":
            self._buffer = self._buffer[: -_lastCharacterSize(self._buffer) or None]
        elif name == "AYT":
            self.sendMessage("* yes, I am here")
        elif name == "LONG-SUBNEGOTIATION":
            self._refuseLong()

    def _receive(self, data: bytes) -> None:
        """
        Split data into messages; keep the unterminated rest.
        """
        self.peerHeard()
        self._cancelBare()
        buffer = self._buffer + data if self._buffer else data
        if self._discarding:
            buffer = self._skipDiscarded(buffer)
            if self._discarding and not self._lineMode:  # (a bare client's: see _keep)
                self._bareCall = self.clock.callLater(self.bareDelay, self._endLongBare)
                return
        self._buffer = b""
        # Line by line, as far as this turn allows: a connection that may
        # handle one line now must not pay for splitting all it sent (64 KiB
        # of empty lines, split and joined again at every paced wake-up, kept
        # a core busy from a few hundred connections).
        start = 0
        end = buffer.find(b"\n")
        if end >= 0:
            self._lineMode = True
        while end >= 0:
            if self.holding() or self.transport.disconnecting or not self.mayHandle(end - start):
                break
            line = buffer[start:end]
            start = end + 1
            self._lineReceived(line)
            end = buffer.find(b"\n", start)
        self._keep(buffer[start:] if start else buffer)
        if self.paused and len(self._buffer) > READ_AHEAD:
            self.holdInput()

    def carryOn(self) -> None:
        """
        Read again and handle what was held back; finish if the peer is done.
        """
        self.releaseInput()
        if self._telnetPending:
            pending, self._telnetPending = self._telnetPending, b""
            self.dataReceived(pending)
        self._receive(b"")
        if self._readClosed and not self.holding() and not self._telnetPending:
            self._finishReading()

    def slowDown(self, notice: str) -> None:
        """
        Tell a line client its messages wait (a lockstep client is not told:
        its one C{recv} would take the notice for its answer).  Logged once
        for the address, however many of its connections wait.
        """
        self.reportLimit(notice, perAddress=True)
        if self.mode is not LOCKSTEP:
            self.sendError(notice)

    def _skipDiscarded(self, buffer: bytes) -> bytes:
        """
        Drop the rest of an over-long line, up to and including its end.
        """
        end = buffer.find(b"\n")
        if end < 0:
            return b""
        self._discarding = False
        self._lineMode = True
        if self._refusalOwed:  # (it was a line after all: refused as one)
            self._refusalOwed = False
            self._lineEnd(buffer[max(0, end - 1) : end])
            self._refuseLong()
        return buffer[end + 1 :]

    def _keep(self, rest: bytes) -> None:
        """
        Hold on to an unterminated rest: refuse it if it is already too long,
        otherwise, for a bare client, time it out into a message.
        """
        if len(rest) > self.maxLineLength and b"\n" not in rest:
            self._discarding = True
            if self._lineMode:
                self._refuseLong()
            else:  # a course client waits for an answer it would never get
                self._refusalOwed = True
                self._bareCall = self.clock.callLater(self.bareDelay, self._endLongBare)
            return
        self._buffer = rest
        if rest and not self._lineMode and not self.holding():
            self._bareCall = self.clock.callLater(self.bareDelay, self._flushBare)

    def _lineReceived(self, line: bytes) -> None:
        line = self._lineEnd(line)
        if len(line) > self.maxLineLength:
            self._refuseLong()
            return
        self._counted()
        self.messageReceived(line.decode("utf-8", "replace"))

    def _lineEnd(self, line: bytes) -> bytes:
        """
        C{line} without its C{\\r}: the peer is a line client, ending its
        lines so (L{terminator}).
        """
        terminator = b"\n"
        if line.endswith(b"\r"):
            line, terminator = line[:-1], b"\r\n"
        if terminator != self.terminator:
            self.terminatorChanging()
            self.terminator = terminator
        if self.mode is not LINE:
            self.mode = LINE
            self.lineModeStarted()
        return line

    def _flushBare(self) -> None:
        """
        A course-style client sent a message without a terminator and is waiting
        for the answer: take what it sent as the message.
        """
        self._bareCall = None
        if not self.mayHandle(len(self._buffer)):
            return  # the timer is set again when this connection carries on
        line, self._buffer = self._buffer, b""
        self._bareEnded()
        self._counted()
        self.bareMessageReceived(line.decode("utf-8", "replace"))

    def _bareEnded(self) -> None:
        """
        A bare message has ended: the peer is a lockstep client waiting for
        one reply.
        """
        self.terminator = b""
        self.mode = LOCKSTEP
        self.owed = False  # the peer read our last reply, or it would not ask again

    def _endLongBare(self) -> None:
        """
        A bare client's over-long message has ended (the client paused for
        the answer): the refusal is the answer; what it sends next is a new
        message.
        """
        self._bareCall = None
        self._discarding = self._refusalOwed = False
        self._bareEnded()
        self._refuseLong()
        self.bareRefused()

    def _cancelBare(self) -> None:
        if self._bareCall is not None:
            if self._bareCall.active():
                self._bareCall.cancel()
            self._bareCall = None

    def _refuseLong(self) -> None:
        text = f"line too long (max {self.maxLineLength} bytes)"
        self.reportLimit(text)
        self.sendError(text)

    def _counted(self) -> None:
        monitored = getattr(self.transport, "monitored", None)
        if monitored is not None:
            monitored.messageReceived()

    def readConnectionLost(self) -> None:
        """
        The peer finished sending (half-close or end of stream).
        """
        self._readClosed = True
        if not self.holding():
            self._finishReading()

    def _finishReading(self) -> None:
        """
        What the peer sent without a final terminator is still a message; then
        the peer is done.
        """
        self._cancelBare()
        if self._buffer and not self._discarding:
            line, self._buffer = self._buffer, b""
            self._lineReceived(line)
        self.peerFinished()

    def writeConnectionLost(self) -> None:
        self.transport.loseConnection()

    # Flow control (IPushProducer): the transport tells us when the peer stops reading.

    def pauseProducing(self) -> None:
        """
        The peer is not reading what we send: hold its messages back, and stop
        reading from it once it has sent L{READ_AHEAD} bytes more.
        """
        self.paused = True
        self._cancelBare()
        self.outputPaused()

    def resumeProducing(self) -> None:
        """
        The peer caught up: handle what we held back, then read again.
        """
        self.paused = False
        if self.transport.disconnecting:
            # We are closing and the transport has written everything.  A TCP
            # transport whose streaming producer is paused calls
            # resumeProducing at that point *instead of* closing (it waits for
            # its producer), so the connection would stay open for good: step
            # aside and let the close go ahead.
            self.transport.unregisterProducer()
            return
        self.outputResumed()
        if not self.paused and not self.waiting():
            self.carryOn()

    def stopProducing(self) -> None:
        self._cancelBare()

    # Sending

    def sendMessage(self, text: str) -> None:
        """
        Send one message, ended the way this peer ends its own (see
        L{encodeMessage}).
        """
        self.transport.write(self.encodeMessage(text))

    def encodeMessage(self, text: str) -> bytes:
        """
        The bytes of one message to this peer.  A line client gets UTF-8 and
        its terminator (after the one it is owed, if any).  Anyone else --
        a lockstep client, or a client that has not shown what it is yet --
        gets ASCII, at most 1,024 bytes, whole lines, no terminator; a message
        that follows another one it has not asked for is put on a line of its
        own.
        """
        terminator = self.terminator
        if terminator:
            data = text.encode("utf-8") + terminator
            if self.owed:
                self.owed = False
                data = terminator + data
            return data
        data = packLines(text.split("\n"))
        if self.owed:
            data = b"\n" + data
        self.owed = True
        return data

    def sendError(self, text: str) -> None:
        """
        Tell the peer, in one line, what went wrong.
        """
        self.sendMessage("ERR " + text)

    def serverShutdown(self) -> None:
        """
        The daemon is stopping: say so, then close.  The goodbye always ends
        its line -- also for a client that never showed what it is (a telnet
        user who has not typed yet would otherwise get the shell prompt on the
        same line); a lockstep client's one C{recv} prints the newline too.
        """
        data = self.encodeMessage("* server shutting down")
        self.transport.write(data if self.terminator else data + b"\n")
        self.transport.loseConnection()

    # For subclasses: what to do with messages

    def messageReceived(self, text: str) -> None:
        """
        Handle one complete message (decoded, terminator removed).
        """
        raise NotImplementedError

    def bareMessageReceived(self, text: str) -> None:
        """
        Handle a lockstep client's message: it now waits, in one
        C{recv(1024)}, for one reply.  By default, as any other message.
        """
        self.messageReceived(text)

    def terminatorChanging(self) -> None:
        """
        The peer is about to be sent lines ended differently (it is a line
        client now, or ends its lines otherwise): a service that holds lines
        for it sends or keeps them as it ended its lines until now.  By
        default, nothing to do.
        """

    def bareRefused(self) -> None:
        """
        A lockstep client's message was refused (too long): the C{ERR} sent
        is its reply.  A service that holds what it sends such a client sends
        it now; by default, nothing to do.
        """

    def lineModeStarted(self) -> None:
        """
        The peer has just shown that it is a line client (L{terminator} is
        set): end the line it is owed, if any.
        """
        if self.owed:
            self.owed = False
            self.transport.write(self.terminator)

    def peerFinished(self) -> None:
        """
        The peer sent end of stream; by default, close once our replies are out.
        """
        self.transport.loseConnection()

    # For subclasses: hooks and helpers with a default

    def watchIdle(self, period: float | None) -> None:
        """
        Start watching for silence (C{period} seconds; the connection is then
        timed out by L{timeoutConnection}), or stop (L{None}).  Called on
        connecting and on losing the connection.  By default a timer per
        connection (L{TimeoutMixin}).
        """
        self.setTimeout(period)

    def peerHeard(self) -> None:
        """
        The peer sent something (data, or a telnet command): it is not idle.
        """
        self.resetTimeout()

    def outputPaused(self) -> None:
        """
        The transport's buffer is full: from now until L{outputResumed},
        L{paused} is true and the peer's messages are held back.  Nothing to do
        by default.
        """

    def reportLimit(self, text: str, kind: str = LIMIT, perAddress: bool = False) -> None:
        """
        The peer hit a limit; C{text} says which, as the peer is told (if
        it is told).  One event on the dashboard and one (throttled) log line
        (once for the address if C{perAddress}; see L{ConnectionMonitor.limitHit}).
        """
        monitored = getattr(self.transport, "monitored", None)
        if monitored is not None:
            monitored.limitHit(text, kind, perAddress)

    def outputResumed(self) -> None:
        """
        The transport has written what it held.  Called before held messages
        are handled, so output queued meanwhile goes out first; writing may
        fill the transport again (L{outputPaused}), and then messages stay held.
        """
