"""
When a conversational connection may handle its peer's next message: the
flow-control layer under L{netlab.framing.MessageReceiver}.

A message waits while:

  - the peer is not reading what we send (the transport paused us: its
    streaming producer), or
  - the peer's address has had its share of this reactor turn
    (L{netlab.fairness.TurnBudget}), or
  - the connection is beyond its rate, or its address beyond its share of the
    service (L{netlab.pacing}).

While messages wait, the connection is not read from (L{FlowControl.holdInput}),
so what a peer sends beyond its share waits in its own socket buffer: TCP
back-pressure, not buffering here.  When the wait is over the subclass is told
to carry on (L{FlowControl.carryOn}).
"""

from __future__ import annotations

from twisted.internet.abstract import FileDescriptor
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol

from netlab.fairness import TurnBudget
from netlab.pacing import Pacer


def setReadSize(transport: object, size: int) -> None:
    """
    Make the connection under C{transport} -- looking through wrappers such as
    the guard's and TLS -- read at most C{size} bytes at a time.  (Its
    C{bufferSize} also sets how much unsent output pauses its producer.)
    """
    for _ in range(4):
        if isinstance(transport, FileDescriptor):
            transport.bufferSize = size
            return
        transport = getattr(transport, "transport", None)


class FlowControl(Protocol):
    """
    The waits of one connection.  Its factory provides C{clock} and
    C{turnBudget}, and may provide C{rate} (the connection's pace) and
    C{addressShare} (its address's share); the protocol sets C{peerKey}.

    A subclass implements L{carryOn} (handle what waited) and L{slowDown} (tell
    the peer its messages wait), and asks L{mayHandle} before each message.

    @ivar paused: whether the transport has paused us (the peer does not read).
    """

    paused = False
    peerKey: str
    _readPaused = False
    _readClosed = False
    _turnCall: IDelayedCall | None = None
    _paceCall: IDelayedCall | None = None
    _pacer: Pacer | None = None

    @property
    def clock(self) -> IReactorTime:
        """
        The factory's clock.
        """
        return self.factory.clock

    @property
    def turnBudget(self) -> TurnBudget:
        """
        The factory's L{TurnBudget}, shared by every connection (and, in the
        daemon, every service) it counts.
        """
        return self.factory.turnBudget

    def holdInput(self) -> None:
        """
        Stop reading from the peer (until L{releaseInput}).  What it already
        sent stays buffered here.
        """
        if not self._readPaused:
            self._readPaused = True
            self.transport.pauseProducing()

    def releaseInput(self) -> None:
        """
        Read from the peer again, unless it has finished sending.
        """
        if self._readPaused:
            self._readPaused = False
            if not self._readClosed:
                self.transport.resumeProducing()

    def holding(self) -> bool:
        """
        Whether messages are held back: the peer is not reading our output, or
        the connection waits (L{waiting}).
        """
        return self.paused or self.waiting()

    def waiting(self) -> bool:
        """
        Whether this connection waits for its next turn or its next message's time.
        """
        return self._turnCall is not None or self._paceCall is not None

    def mayHandle(self, size: int) -> bool:
        """
        Whether the next message (C{size} bytes) may be handled now: the
        address has a share of this turn left, and the connection is within
        its rate and the address within its share (L{Pacer}).  If not, stop
        reading until it may, then L{carryOn}.
        """
        if self._turnCall is not None:
            return False
        if not self.turnBudget.take(self.peerKey):
            self.waitForNextTurn()
            return False
        rate = getattr(self.factory, "rate", None)
        share = getattr(self.factory, "addressShare", None)
        if rate is None and share is None:
            return True
        if self._pacer is None:
            self._pacer = Pacer(rate, self.clock)
        now = self.clock.seconds()
        delay = self._pacer.delay(now, share, self.peerKey, size)
        if not delay:
            return True
        self.holdInput()
        self._paceCall = self.clock.callLater(delay, self._nextPace)
        notice = self._pacer.notice(now)
        if notice is not None:
            self.slowDown(notice)
        return False

    def waitForNextTurn(self) -> None:
        """
        Stop reading until the next reactor turn, then L{carryOn}.
        """
        self.holdInput()
        if self._turnCall is None:
            self._turnCall = self.clock.callLater(0, self._nextTurn)

    def _nextTurn(self) -> None:
        self._turnCall = None
        if not self.holding():
            self.carryOn()

    def _nextPace(self) -> None:
        self._paceCall = None
        if not self.holding():
            self.carryOn()

    def cancelWaits(self) -> None:
        """
        The connection is gone: stop waiting.
        """
        for call in (self._turnCall, self._paceCall):
            if call is not None and call.active():
                call.cancel()
        self._turnCall = self._paceCall = None

    def spendTurn(self, cost: int) -> None:
        """
        Charge C{cost} more units of work to this peer's address in the
        current reactor turn (a message costs one, counted before it is
        handled; see L{netlab.fairness}).  Once the address's share is spent,
        its further messages wait for the next turn.
        """
        if cost > 0:
            self.turnBudget.spend(self.peerKey, cost)

    # For subclasses

    def carryOn(self) -> None:
        """
        The wait is over: read again and handle what waited.
        """
        raise NotImplementedError

    def slowDown(self, notice: str) -> None:
        """
        The peer's messages wait for their pace: C{notice} says so (at most
        once in a while).  By default, nothing is said.
        """
