"""
A chat member's send queue: room lines are queued and written once per reactor
turn, and a member that stops reading is dropped once it owes too much.

The transport tells the member (its streaming producer) when it holds more than
its buffer size (L{MessageReceiver.paused}); from then on the member's lines
stay in its queue, and once the queue exceeds the send-queue limit the member is
told C{ERR send queue exceeded}, dropped and announced as left.  Everyone else
keeps receiving everything.
"""

from __future__ import annotations

import socket

from twisted.internet.interfaces import IDelayedCall

from netlab.chat.interfaces import IChatRoom
from netlab.framing import MessageReceiver
from netlab.writethrough import directSocket, sentThrough, writeThrough

#: Unsent bytes a member may owe, beyond what its transport buffers, before it is
#: dropped (by default).  A megabyte is minutes of a busy room's traffic.
SENDQ = 1 << 20

#: How long a dropped member has to take its last lines before its connection
#: is aborted: a client that never reads would otherwise hold its transport's
#: buffer for as long as TCP keeps the connection open.
DROP_GRACE = 10.0

#: How much queued output is written at once; about the transport's own buffer
#: size, so that a paused member's transport never holds much more than that.
WRITE_CHUNK = 65536


class QueuedOutput(MessageReceiver):
    """
    A L{MessageReceiver} whose output is queued and flushed by its room.

    Its factory's C{sendq} is the unsent bytes it may owe beyond its
    transport's buffer.
    """

    name: str | None
    room: IChatRoom

    _pending: list[bytes] | None = None
    _pendingSize = 0
    _scheduled = False
    _dropCall: IDelayedCall | None = None

    def queue(self, data: bytes) -> None:
        """
        Queue C{data} (whole lines, terminators included) for the next flush.
        While the transport is full the queue may grow up to C{factory.sendq} bytes;
        past that the member is dropped at the next flush.
        """
        if self._pending is None:
            self._pending = [data]
            self._pendingSize = len(data)
        else:
            self._pending.append(data)
            self._pendingSize += len(data)
        if not self._scheduled and (not self.paused or self._pendingSize > self.factory.sendq):
            self._scheduled = True
            self.room.markDirty(self)

    def send(self, data: bytes) -> None:
        """
        Write C{data} (whole lines) now if nothing is queued before it and
        the transport is not full; otherwise queue it.  (The room's lines of
        a turn are sent so, in one pass over its members: the first member
        gets them without waiting for the last to be queued.)
        """
        if self._pending is None and not self.paused:
            writeThrough(self.transport, data)
        else:
            self.queue(data)

    def directSocket(self) -> socket.socket | None:
        """
        The socket the next delivery may be sent on straight away: nothing is
        queued, the transport is not full, and it is a plain TCP connection
        with nothing buffered (L{netlab.writethrough.directSocket}).
        """
        if self._pending is None and not self.paused:
            return directSocket(self.transport)
        return None

    def sentDirect(self, data: bytes, sent: int) -> None:
        """
        C{sent} bytes of C{data} went out on L{directSocket}: the rest goes
        through the transport.
        """
        sentThrough(self.transport, data, sent)

    def flush(self) -> None:
        """
        Write the queued output, unless the transport is full; drop the member
        if it owes more than C{factory.sendq} bytes.
        """
        self._scheduled = False
        if self._pending is None:
            return
        if not self.paused:
            self._writeQueued()
        elif self._pendingSize > self.factory.sendq:
            self._drop()

    def outputResumed(self) -> None:
        """
        The transport has written everything it held: write what queued up
        meanwhile (before the peer's held messages are handled).
        """
        if self._pending is not None and self.name is not None:
            self._writeQueued()

    def discardQueued(self) -> None:
        """
        Forget the queued output (the member is behind and we are closing).
        """
        self._pending = None
        self._pendingSize = 0

    def writeQueued(self) -> None:
        """
        Hand everything queued to the transport at once (we are closing).
        """
        if self._pending is not None:
            pending, self._pending, self._pendingSize = self._pending, None, 0
            self.transport.write(b"".join(pending))

    def _writeQueued(self) -> None:
        """
        Hand the queue to the transport, a chunk at a time, until it is empty or
        the transport says it is full (it calls C{pauseProducing} during the
        write); what is left waits for L{outputResumed}.
        """
        pending = self._pending
        assert pending is not None
        start = 0
        while start < len(pending) and not self.paused:
            end, size = start + 1, len(pending[start])
            while end < len(pending) and size < WRITE_CHUNK:
                size += len(pending[end])
                end += 1
            chunk = pending[start] if end == start + 1 else b"".join(pending[start:end])
            start = end
            self._pendingSize -= size
            writeThrough(self.transport, chunk)
        if start == len(pending):
            self._pending = None
            self._pendingSize = 0
        elif start:
            del pending[:start]

    def _drop(self) -> None:
        """
        The member owes more than C{factory.sendq} bytes: forget its queue, tell it why
        (behind what its transport already holds), drop it, and abort the
        connection if it still has not taken its last bytes after L{DROP_GRACE}.
        """
        self.discardQueued()
        self.reportLimit(f"send queue exceeded ({self.factory.sendq} bytes owed)")
        self.sendError("send queue exceeded")
        self.close("send queue exceeded")
        abort = getattr(self.transport, "abortConnection", self.transport.loseConnection)
        self._dropCall = self.clock.callLater(DROP_GRACE, abort)

    def cancelDrop(self) -> None:
        """
        The connection is gone: no abort is needed any more.
        """
        if self._dropCall is not None and self._dropCall.active():
            self._dropCall.cancel()
        self._dropCall = None
        self._pending = None
