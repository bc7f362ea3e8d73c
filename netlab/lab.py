"""
Lab faults (C{--lab FAULTS}): make a service's output arrive the way real
networks deliver it, so that a client written as "one C{send}, one C{recv}, one
message" visibly breaks and a correct client -- one that reads until it has a
whole line -- keeps working.  Off by default; for teaching.

  - C{split=N}: every write goes out in pieces of at most N bytes, each its own
    TCP segment (C{TCP_NODELAY}), L{PIECE_GAP} apart, so one C{recv} really
    returns a fragment.
  - C{delay=MS}: every write goes out MS milliseconds late.
  - C{coalesce[=MS]}: writes are held for MS milliseconds (default 500) after
    the first, then sent as one, so replies to several messages arrive together.

The faults change how the bytes are cut and timed, never which bytes are sent
or their order.  L{LabProtocol} does it in the guard's wrapper, below every
service; what it holds is bounded (L{HOLD_LIMIT}): past it, the service is
paused as if the peer were not reading.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace

from twisted.internet.interfaces import IDelayedCall, IPushProducer
from zope.interface import implementer

from netlab.guard import GuardProtocol

#: Pause between the pieces of a split write: long enough that each piece is a
#: segment of its own and a client's C{recv} returns it alone.
PIECE_GAP = 0.02

#: Bytes held for later sending before the service is paused.
HOLD_LIMIT = 65536

#: How long C{coalesce} holds writes when it is given no time.
COALESCE_DEFAULT = 0.5

_FAULT = re.compile(r"^(split|delay|coalesce)(?:=(\d+))?$", re.ASCII)


@dataclass(frozen=True)
class LabFaults:
    """
    The faults one service runs with.

    @ivar split: the most bytes per piece, or L{None}.
    @ivar delay: seconds each write is late.
    @ivar coalesce: seconds writes are held to be sent together, or L{None}.
    """

    split: int | None = None
    delay: float = 0.0
    coalesce: float | None = None

    def merged(self, other: LabFaults) -> LabFaults:
        """
        These faults with those C{other} sets (C{--lab split=5 --lab doctor:delay=200}).
        """
        changes = {
            name: getattr(other, name)
            for name in ("split", "delay", "coalesce")
            if getattr(other, name) != getattr(LabFaults(), name)
        }
        return replace(self, **changes)

    def describe(self) -> str:
        """
        What a client sees, in a few words: C{replies arrive in pieces of 5 bytes}.
        """
        parts = []
        if self.split is not None:
            parts.append(f"in pieces of {self.split} byte{'s' if self.split != 1 else ''}")
        if self.delay:
            parts.append(f"{self.delay * 1000:.0f} ms late")
        if self.coalesce is not None:
            parts.append(f"several at a time (held {self.coalesce * 1000:.0f} ms)")
        return "replies arrive " + ", ".join(parts)


def parseLab(value: str) -> tuple[str | None, LabFaults]:
    """
    Parse one C{--lab} value: C{[SERVICE:]FAULT[,FAULT...]}, e.g.
    C{split=5}, C{doctor:split=5,delay=200}, C{chat:coalesce=800}.

    @return: the service it is for (L{None}: every stream service) and the faults.
    @raise ValueError: with a message that says what is accepted.
    """
    service, _, faults = value.strip().rpartition(":")
    result = LabFaults()
    for fault in faults.split(","):
        match = _FAULT.match(fault.strip())
        if match is None:
            raise ValueError(
                f"{value!r}: {fault!r} is not split=BYTES, delay=MS or coalesce[=MS]"
            )
        name, number = match.group(1), match.group(2)
        if name == "split":
            if number is None or not 1 <= int(number) <= 65536:
                raise ValueError(f"{value!r}: split needs a size from 1 to 65536 bytes")
            result = replace(result, split=int(number))
        elif name == "delay":
            if number is None or int(number) > 60_000:
                raise ValueError(f"{value!r}: delay needs milliseconds, at most 60000")
            result = replace(result, delay=int(number) / 1000)
        else:
            ms = COALESCE_DEFAULT * 1000 if number is None else int(number)
            if not 1 <= ms <= 60_000:
                raise ValueError(f"{value!r}: coalesce takes 1 to 60000 milliseconds")
            result = replace(result, coalesce=ms / 1000)
    return service or None, result


@implementer(IPushProducer)
class _Gate:
    """
    What L{LabProtocol} registers with the real transport: the service's
    producer is paused while the transport is backed up *or* the lab holds
    L{HOLD_LIMIT} bytes; a pull producer (chargen) is asked for more only
    once everything the lab held has gone out.
    """

    def __init__(self, lab: LabProtocol) -> None:
        self.lab = lab
        self.transportPaused = False
        self.servicePaused = False

    def pauseProducing(self) -> None:
        self.transportPaused = True
        self.update()

    def resumeProducing(self) -> None:
        self.transportPaused = False
        self.update()

    def stopProducing(self) -> None:
        if self.lab.producer is not None:
            self.lab.producer.stopProducing()

    def update(self) -> None:
        producer = self.lab.producer
        if producer is None:
            return
        blocked = self.transportPaused or self.lab.held > HOLD_LIMIT
        if self.lab.streaming:
            if blocked != self.servicePaused:
                self.servicePaused = blocked
                (producer.pauseProducing if blocked else producer.resumeProducing)()
        elif not blocked and self.lab.held == 0 and not self.lab.disconnecting:
            producer.resumeProducing()


class LabProtocol(GuardProtocol):
    """
    The guard's wrapper, with lab faults applied to everything the service writes.

    @ivar held: bytes written by the service and not yet sent.
    """

    writesThrough = False  # (what the service writes is held and cut here)

    def __init__(self, factory, wrappedProtocol, faults: LabFaults, announce: bool = False):
        super().__init__(factory, wrappedProtocol)
        self.faults = faults
        self.announce = announce
        self.clock = factory.clock
        self.held = 0
        self.producer = None
        self.streaming = True
        self._queue: deque[tuple[float, bytes]] = deque()
        self._offset = 0  # how much of the first queued write has gone out
        self._batch: list[bytes] | None = None
        self._timers: dict[str, IDelayedCall] = {}
        self._nextPiece = 0.0
        self._closing = False
        self._gate = _Gate(self)

    def makeConnection(self, transport) -> None:
        if self.faults.split is not None and hasattr(transport, "setTcpNoDelay"):
            transport.setTcpNoDelay(True)
        super().makeConnection(transport)

    # What the service writes.

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self.announce:
            self.announce = False
            end = b"\r\n" if b"\r\n" in data else b"\n"
            data = b"* lab mode: " + self.faults.describe().encode() + end + data
        self.held += len(data)
        if self.faults.coalesce is not None:
            if self._batch is None:
                self._batch = []
                wait = self.faults.delay + self.faults.coalesce
                self._timers["batch"] = self.clock.callLater(wait, self._sendBatch)
            self._batch.append(data)
        else:
            self._enqueue(self.clock.seconds() + self.faults.delay, data)
        self._gate.update()

    def writeSequence(self, data) -> None:
        self.write(b"".join(data))

    def _sendBatch(self) -> None:
        del self._timers["batch"]
        batch, self._batch = self._batch or [], None
        self._enqueue(self.clock.seconds(), b"".join(batch))

    def _enqueue(self, when: float, data: bytes) -> None:
        # Whole writes are queued and cut as they go out: a piece per queue
        # entry would cost ~90 bytes of bookkeeping per byte at split=1.
        self._queue.append((when, data))
        if "send" not in self._timers:
            self._send()

    def _send(self) -> None:
        self._timers.pop("send", None)
        now = self.clock.seconds()
        while self._queue:
            when = max(self._queue[0][0], self._nextPiece)
            if when > now:
                self._timers["send"] = self.clock.callLater(when - now, self._send)
                return
            data, start = self._queue[0][1], self._offset
            end = len(data) if self.faults.split is None else start + self.faults.split
            piece = data[start:end]
            if end < len(data):
                self._offset = end
            else:
                self._queue.popleft()
                self._offset = 0
            self.held -= len(piece)
            self.wrote(piece)
            self.transport.write(piece)
            if self.faults.split is not None:
                self._nextPiece = now + PIECE_GAP
        if self._closing and self._batch is None:
            self._close()
        else:
            self._gate.update()

    # Closing waits for what the lab holds.

    def loseConnection(self) -> None:
        if self._queue or self._batch is not None:
            self._closing = True
            self.disconnecting = 1
        else:
            self._close()

    def _close(self) -> None:
        # A TCP transport whose streaming producer is paused resumes it instead
        # of closing: the gate steps aside first.
        if self.producer is not None:
            self.producer = None
            self.transport.unregisterProducer()
        GuardProtocol.loseConnection(self)

    def connectionLost(self, reason) -> None:
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()
        self._queue.clear()
        self._offset = 0
        self._batch = None
        self.held = 0
        super().connectionLost(reason)

    # The service's producer goes behind the gate.

    def registerProducer(self, producer, streaming: bool) -> None:
        self.producer, self.streaming = producer, bool(streaming)
        self._gate.servicePaused = False
        self.transport.registerProducer(self._gate, True)
        if not streaming:
            self._gate.update()

    def unregisterProducer(self) -> None:
        self.producer = None
        self.transport.unregisterProducer()
