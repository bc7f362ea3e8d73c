"""
In-memory browsers for the web tests: HTTP requests and WebSockets to a
guarded netlab site over L{ClientTransport}s, framed by C{wsproto} as a
browser frames them.  No reactor, no sockets.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from netlab.guard import GuardFactory
from netlab.testing import ClientTransport

#: Where the fake browsers connect from, and to.
PEER = IPv4Address("TCP", "127.0.0.9", 50000)
HOST = IPv4Address("TCP", "127.0.0.1", 21569)


def connect(factory: GuardFactory, peer: IPv4Address = PEER) -> tuple[object, ClientTransport]:
    """
    A new connection to C{factory}'s site: (the server's protocol, the transport).
    """
    transport = ClientTransport(peerAddress=peer, hostAddress=HOST)
    protocol = factory.buildProtocol(peer)
    protocol.makeConnection(transport)
    return protocol, transport


def httpGet(
    factory: GuardFactory, path: str, host: str = "127.0.0.1:21570", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """
    C{GET path} on a new connection: (status, headers in lower case, body).
    """
    protocol, transport = connect(factory)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    protocol.dataReceived(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    head, _, body = transport.value().partition(b"\r\n\r\n")
    status, *fields = head.decode("latin-1").split("\r\n")
    parsed = {}
    for field in fields:
        name, _, value = field.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return int(status.split()[1]), parsed, body


class FakeWebSocket:
    """
    A browser's WebSocket to C{path} on a guarded site.

    @ivar messages: the text messages received and not yet taken.
    @ivar closeCode: the close code the server sent, once it closed.
    @ivar status: the HTTP status of a refused handshake.
    """

    def __init__(
        self, factory: GuardFactory, path: str, host: str = "127.0.0.1:21569",
        peer: IPv4Address = PEER, origin: str | None = None,
    ) -> None:
        self.protocol, self.transport = connect(factory, peer)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.messages: list[str] = []
        self.closeCode: int | None = None
        self.status: int | None = None
        self.accepted = False
        self._text = ""
        headers = [] if origin is None else [(b"Origin", origin.encode())]
        self.sendRaw(self.ws.send(Request(host=host, target=path, extra_headers=headers)))
        self.receive()

    def sendRaw(self, data: bytes) -> None:
        """
        Send bytes as they are.
        """
        self.protocol.dataReceived(data)

    def send(self, text: str) -> None:
        """
        Send one text message.
        """
        self.sendRaw(self.ws.send(TextMessage(text)))

    def receive(self) -> None:
        """
        Read what the server sent (as a browser does as long as it runs).
        """
        data = self.transport.read()
        if data:
            self.ws.receive_data(data)
            for event in self.ws.events():
                self._event(event)

    def read(self) -> list[str]:
        """
        Read what the server sent; return all text messages not yet taken.
        """
        self.receive()
        messages, self.messages = self.messages, []
        return messages

    def _event(self, event: object) -> None:
        if isinstance(event, AcceptConnection):
            self.accepted = True
        elif isinstance(event, RejectConnection):
            self.status = event.status_code
        elif isinstance(event, TextMessage):
            self._text += event.data
            if event.message_finished:
                self.messages.append(self._text)
                self._text = ""
        elif isinstance(event, CloseConnection):
            self.closeCode = event.code
        elif isinstance(event, (BytesMessage, RejectData)):
            pass

    @property
    def disconnecting(self) -> bool:
        """
        Whether the server closed (or is closing) the connection.
        """
        return self.transport.disconnecting
