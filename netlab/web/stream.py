"""
A chat member or a Doctor session in a browser: the service's own stream
protocol, over a WebSocket.

L{WebSocketStream} is a C{twisted.web.websocket} protocol on one side and an
ordinary transport on the other: each text message from the browser is one
line to the service's protocol (a L{netlab.framing.MessageReceiver}, built by
the same factory as the TCP clients'), and each line the protocol writes is
one text message to the browser.  So a browser member is a member like any
other -- same room, names, commands, history, pace, address share, send-queue
bound and idle timeout -- with no second implementation of any of it.  It
declares itself a line client at once (an empty line), so it gets UTF-8 and
the whole welcome.

The WebSocket's own limits:

  - A message is refused by the service's framing like a TCP line
    (C{ERR line too long}); while one arrives, C{twisted.web.websocket} keeps
    all of it in memory, so past L{messageLimit} bytes without a complete
    message the connection is closed (1009, message too big).
  - While the browser does not read (the transport's buffer is full), the
    service holds its messages back, as for TCP; whatever else it sends (pings
    that would each earn a pong, parts of a message) stops being read after
    L{netlab.framing.READ_AHEAD} bytes.
  - A malformed frame is C{wsproto}'s to refuse: it closes that connection only.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IAddress, IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.web.server import Request
from twisted.web.websocket import WebSocketTransport
from zope.interface import implementer

from netlab.flow import setReadSize
from netlab.framing import MAX_LINE, READ_AHEAD
from netlab.monitor import CONNECT, LIMIT

#: WebSocket close codes (RFC 6455, 7.4.1).
NORMAL, GOING_AWAY, TOO_BIG = 1000, 1001, 1009

#: Bytes of a message's UTF-8 per character at most, and the frame header:
#: what a message of the service's longest line can take on the wire.
UTF8_MAX, FRAME_HEADER = 4, 14


#: The most one read of a connection takes (Twisted's default buffer size).
READ_SIZE = 65536

#: What one read of a member's WebSocket takes: every message in a read is
#: parsed and handed over before anyone else's turn (C{wsproto} takes about
#: 30 microseconds a message), so a read of 2,000 tiny messages is 0.07 s of
#: everyone's time; a longest line of 4 KiB still fits in one.
MEMBER_READ_SIZE = 16384


def messageLimit(maxLineLength: int) -> int:
    """
    How many bytes may arrive without completing a message before the
    connection is closed: a longest line of the widest characters, framed,
    and one read more (a read is counted once it was handled, whole, even if
    messages in it completed).
    """
    return maxLineLength * UTF8_MAX + FRAME_HEADER + READ_SIZE


@implementer(IPushProducer)
class WebSocketStream:
    """
    One browser connection to a stream service (see the module docstring).
    The transport of the service's protocol.

    @ivar service: the service's name, as the dashboard and the log show it.
    @ivar protocol: the service's protocol for this browser, once connected.
    """

    disconnecting = False

    def __init__(self, factory: Factory, service: str, request: Request) -> None:
        self.factory = factory
        self.service = service
        self._peer: IAddress = request.getClientAddress()
        self._channel = request.channel
        self.protocol: Protocol | None = None
        self._ws: WebSocketTransport | None = None
        self._raw: Any = None  # the connection under the WebSocket (the guard's wrapper)
        self._producer: IPushProducer | None = None
        self._partial = b""
        self._unread = 0  # bytes read since the last whole message
        self._outputFull = False
        self._readWhileFull = 0
        self._holding = False  # the service asked us to stop reading
        self._held: list[bytes] = []  # messages that came while it did
        self._flooded = False  # we stopped reading: the peer sends and does not read

    # The WebSocket side (twisted.web.websocket's WebSocketProtocol)

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        self._ws = transport

    def negotiationFinished(self) -> None:
        """
        The WebSocket is open: take the connection over from HTTP and start
        the service's protocol.
        """
        channel, raw = self._channel, self._ws.transport
        self._raw = raw
        channel.setTimeout(None)  # the service's own idle timeout applies now
        channel.member = self
        raw.unregisterProducer()  # (it was the HTTP channel)
        raw.registerProducer(_OutputWatch(self), True)
        setReadSize(raw, MEMBER_READ_SIZE)
        become = getattr(raw, "becomeMember", None)
        protocol = self.protocol = self.factory.buildProtocol(self._peer)
        if become is not None:
            become(self.service, protocol, "websocket")
            raw.rawTrace = False
            raw.meter = self._metered
            raw.factory.monitor.event(
                CONNECT, self.service, raw.peerText, "connected over a WebSocket"
            )
        protocol.makeConnection(self)
        protocol.dataReceived(b"\n")  # a line client, from the start
        if become is not None and raw.messagesIn:
            raw.messagesIn -= 1  # (that line was ours, not the browser's)

    def textMessageReceived(self, message: str) -> None:
        """
        One line from the browser (a message with line breaks is several).
        """
        self._unread = 0
        data = message.encode("utf-8", "replace") + b"\n"
        self._traced("received", data)
        if self.protocol is None or self.disconnecting:
            return
        if self._holding:
            # The service waits (its pace, its turn, a full transport); the
            # rest of this read is still being handed over a message at a
            # time, so keep it here and give it over in one piece (fed one
            # by one, each message re-split everything held: 9,000 empty
            # messages took the daemon 2.6 s).
            self._held.append(data)
            return
        self.protocol.dataReceived(data)

    def bytesMessageReceived(self, data: bytes | bytearray) -> None:
        """
        The services speak text; a binary message is refused, the connection kept.
        """
        self._unread = 0
        self._refuse("binary messages are not accepted (send text)")

    def pongReceived(self, payload: bytes) -> None:
        """
        Pongs need nothing (we send no pings).
        """

    def connectionLost(self, reason: Failure) -> None:
        self.disconnecting = True
        if self.protocol is not None:
            protocol, self.protocol = self.protocol, None
            protocol.connectionLost(reason)

    # What arrives, before twisted.web.websocket buffers it

    def _metered(self, size: int) -> None:
        """
        C{size} bytes arrived: close the connection if no message completes
        within L{messageLimit}; stop reading if the peer sends while it does
        not read (see the module docstring).
        """
        self._unread += size
        maxLineLength = getattr(self.factory, "maxLineLength", MAX_LINE)
        if self._unread > messageLimit(maxLineLength) and not self.disconnecting:
            text = (
                f"no whole message in {self._unread} bytes (max {maxLineLength}), "
                "connection closed"
            )
            self._refuse(text)
            self._close(TOO_BIG, text)
            return
        if self._outputFull:
            self._readWhileFull += size
            if self._readWhileFull > READ_AHEAD and not self._flooded:
                self._flooded = True
                self._raw.pauseProducing()

    def _refuse(self, text: str) -> None:
        monitored = self.monitored
        if monitored is not None:
            monitored.limitHit(text, LIMIT)
        self._sendLine("ERR " + text)

    # The service's side: a transport

    @property
    def monitored(self) -> Any:
        """
        The connection the dashboard counts this browser as (the guard's wrapper).
        """
        return getattr(self._raw, "monitored", None)

    def write(self, data: bytes) -> None:
        """
        Send every whole line as one text message; keep a partial line for
        the next write.
        """
        if self._partial:
            data, self._partial = self._partial + data, b""
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self._sendLine(line.decode("utf-8", "replace"))

    def writeSequence(self, data: list[bytes]) -> None:
        self.write(b"".join(data))

    def _sendLine(self, text: str) -> None:
        if self._ws is None or self._raw is None or self._raw.disconnecting:
            return
        self._traced("sent", text.encode("utf-8") + b"\n")
        self._ws.sendTextMessage(text.rstrip("\r"))

    def _traced(self, direction: str, data: bytes) -> None:
        monitored = self.monitored
        trace = getattr(monitored, "trace", None)
        if trace is not None:
            getattr(trace, direction).add(monitored.factory.clock.seconds(), data)

    def loseConnection(self) -> None:
        """
        Close the WebSocket once what was written has gone.
        """
        self._close(NORMAL, "")

    def _close(self, code: int, reason: str) -> None:
        if self.disconnecting or self._ws is None:
            return
        self.disconnecting = True
        if self._partial:
            self.write(b"\n")
        self._ws.loseConnection(code)

    def abortConnection(self) -> None:
        self.disconnecting = True
        if self._raw is not None:
            self._raw.abortConnection()

    def getPeer(self) -> IAddress:
        return self._peer

    def getHost(self) -> IAddress:
        return self._channel.getHost() if self._raw is None else self._raw.getHost()

    def registerProducer(self, producer: IPushProducer, streaming: bool) -> None:
        self._producer = producer

    def unregisterProducer(self) -> None:
        self._producer = None

    def pauseProducing(self) -> None:
        """
        The service holds the browser's messages back: stop reading.
        """
        self._holding = True
        self._raw.pauseProducing()

    def resumeProducing(self) -> None:
        """
        The service takes messages again: read, unless the browser floods.
        """
        self._holding = False
        if self._held and self.protocol is not None:
            held, self._held = b"".join(self._held), []
            self.protocol.dataReceived(held)
            if self._holding:
                return
        if not self._flooded:
            self._raw.resumeProducing()

    def stopProducing(self) -> None:
        self.abortConnection()

    # The connection's buffer (see _OutputWatch)

    def outputPaused(self) -> None:
        """
        The browser does not read what we send: tell the service.
        """
        self._outputFull = True
        self._readWhileFull = 0
        if self._producer is not None:
            self._producer.pauseProducing()

    def outputResumed(self) -> None:
        """
        The browser caught up: read again (unless the service holds), tell the service.
        """
        self._outputFull = False
        if self._raw.disconnecting:
            # Closing, and all is written: a paused streaming producer would
            # keep the connection open (see MessageReceiver.resumeProducing).
            self._raw.unregisterProducer()
            return
        if self._flooded:
            self._flooded = False
            if not self._holding:
                self._raw.resumeProducing()
        if self._producer is not None:
            self._producer.resumeProducing()

    def serverShutdown(self) -> None:
        """
        The daemon is stopping: the service says goodbye its own way.
        """
        goodbye = getattr(self.protocol, "serverShutdown", None)
        if goodbye is not None:
            goodbye()
        else:
            self.loseConnection()


@implementer(IPushProducer)
class _OutputWatch:
    """
    The producer the connection under a L{WebSocketStream} tells when its
    buffer fills and empties.  (The stream's own C{pauseProducing} and
    C{resumeProducing} are for the service, its transport's user.)
    """

    def __init__(self, stream: WebSocketStream) -> None:
        self._stream = stream

    def pauseProducing(self) -> None:
        self._stream.outputPaused()

    def resumeProducing(self) -> None:
        self._stream.outputResumed()

    def stopProducing(self) -> None:
        self._stream.abortConnection()
