"""
In-memory chat clients for tests (netlab's own, and yours).

    room = FakeChatRoom(rate=None)
    alice, bob = room.connect(2)          # line clients, like nc or telnet
    carol, = room.connect(1, lineMode=False)  # says nothing yet: maybe a lockstep client
    alice.send("hello")
    bob.lines()  # [..., '<guest-1> hello']

Everything runs on a L{task.Clock} and L{StringTransport}s, with no reactor and
no sockets.  The transports behave like TCP in the one way that matters to the
chat service: they hold what the server wrote until the client reads it, and
pause the server's protocol (their streaming producer) once more than
C{bufferSize} bytes are unread -- so a client that does not call L{FakeClient.read}
is a slow consumer, exactly as a real one would be; and a connection the server
closes ends once the client has read what was written to it (or at once if the
server aborts it).
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from netlab.chat import WELCOME_WAIT, ChatFactory, ChatProtocol


class ClientTransport(StringTransport):
    """
    A L{StringTransport} that pauses its producer while more than C{bufferSize}
    written bytes are unread, and resumes it when they are read, as TCP does.
    """

    bufferSize = 65536
    writerPaused = False

    def write(self, data: bytes) -> None:
        super().write(data)
        if self.producer is not None and self.streaming and not self.writerPaused:
            if len(self.io.getvalue()) > self.bufferSize:
                self.writerPaused = True
                self.producer.pauseProducing()

    def read(self) -> bytes:
        """
        Take everything written so far; resume the producer if it was paused.
        """
        data = self.value()
        self.clear()
        if self.writerPaused and self.producer is not None and not self.disconnecting:
            self.writerPaused = False
            self.producer.resumeProducing()
        return data


class FakeClient:
    """
    One in-memory chat client.

    @ivar protocol: the server's L{ChatProtocol} for this client.
    @ivar transport: its L{ClientTransport}.
    """

    def __init__(self, room: FakeChatRoom, protocol: ChatProtocol, transport: ClientTransport):
        self.room = room
        self.protocol = protocol
        self.transport = transport
        self.closed = False

    @property
    def name(self) -> str | None:
        """
        The client's name in the room (L{None} once it has left).
        """
        return self.protocol.name

    def sendBytes(self, data: bytes) -> None:
        """
        Deliver raw bytes to the server, as one read.
        """
        self.protocol.dataReceived(data)

    def send(self, *lines: str, end: str = "\r\n") -> None:
        """
        Send whole lines (in one read), each ended with C{end}.
        """
        self.sendBytes("".join(line + end for line in lines).encode("utf-8"))

    def read(self) -> bytes:
        """
        Everything the server sent since the last read (after letting the room
        flush), as bytes.
        """
        self.room.flush()
        data = self.transport.read()
        if self.transport.disconnecting:
            self.disconnect()
        return data

    def lines(self) -> list[str]:
        """
        Like L{read}, split into lines (C{\\r\\n} or C{\\n}).
        """
        return self.read().decode("utf-8").replace("\r\n", "\n").splitlines()

    def disconnect(self) -> None:
        """
        The client goes away (end of stream, connection closed).
        """
        if not self.closed:
            self.closed = True
            self.protocol.connectionLost(Failure(ConnectionDone()))


#: Options for a room without flood control: no pace per client, no share per
#: address (for tests that flood it on purpose).
UNLIMITED = {"rate": None, "addressRate": None, "addressBytes": None}


class FakeChatRoom:
    """
    A L{ChatFactory} on a L{Clock}, and the in-memory clients connected to it.

    @ivar clock: the L{Clock}; advance it to pass time.
    @ivar factory: the L{ChatFactory} (keyword arguments go to it).
    """

    def __init__(self, factory: ChatFactory | None = None, **options) -> None:
        self.clock = Clock() if factory is None else factory.clock
        self.factory = factory or ChatFactory(self.clock, **options)
        self.clients: list[FakeClient] = []
        self._ports = iter(range(40000, 65536))

    @property
    def room(self):
        return self.factory.room

    def connect(self, count: int = 1, factory=None, lineMode: bool = True) -> list[FakeClient]:
        """
        Connect C{count} new clients (of C{factory}, by default the chat one).

        @param lineMode: whether each client at once sends an empty line, as a
            telnet user pressing Enter does: the server then knows it is a line
            client and sends it room lines as they come.  Until a client sends
            something, the server holds its lines (it might be a lockstep
            client, which must never be written to unasked).  A client that says
            nothing gets its welcome after C{WELCOME_WAIT}, which the room's
            clock is advanced by.
        """
        return [self.connectOne(factory, lineMode) for _ in range(count)]

    def connectOne(
        self, factory=None, lineMode: bool = True, host: str | None = None
    ) -> FakeClient:
        """
        Connect one new client; see L{connect}.  Each client comes from an
        address of its own (as each student at a machine of their own), unless
        C{host} says which.
        """
        factory = factory or self.factory
        port = next(self._ports)
        host = host or f"127.0.{port >> 8 & 255}.{port & 255}"
        address = IPv4Address("TCP", host, port)
        protocol = factory.buildProtocol(address)
        transport = ClientTransport(peerAddress=address)
        client = FakeClient(self, protocol, transport)
        self.clients.append(client)
        protocol.makeConnection(transport)
        if lineMode:
            protocol.dataReceived(b"\r\n")
        elif factory is self.factory:
            self.clock.advance(WELCOME_WAIT)  # the welcome for a client that said nothing
        return client

    def flush(self) -> None:
        """
        Let the room write what it queued (one reactor turn), then end the
        connections the server closed that have nothing left to read, or that
        it aborted, as a reactor would.
        """
        self.clock.advance(0)
        for client in self.clients:
            transport = client.transport
            if transport.disconnected or transport.disconnecting and not transport.value():
                client.disconnect()
        self.clock.advance(0)
