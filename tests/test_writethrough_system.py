"""
L{netlab.writethrough} on real TCP connections over loopback: the fast path is
taken when nothing is in the way (the bytes reach the peer before the reactor
runs again), and every other case goes through the transport, in order.
"""

from __future__ import annotations

import socket
import time

import pytest
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import StringTransport

from netlab import writethrough
from netlab.guard import GuardFactory
from netlab.writethrough import directSocket, writeThrough


class Kept(Protocol):
    """
    Keeps its transport for the test.
    """

    def connectionMade(self) -> None:
        self.factory.made.append(self)


def spin(until, seconds: float = 5.0) -> None:
    """
    Run the reactor until C{until()} is true (at most C{seconds}).
    """
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "timed out"
        reactor.iterate(0.01)


@pytest.fixture
def connection(request):
    """
    (the server side's transport, the client's socket) for a fresh loopback
    connection; C{request.param} says whether the guard wraps the factory.
    """
    factory = Factory.forProtocol(Kept)
    factory.made = []
    if getattr(request, "param", False):
        factory = GuardFactory(factory, "test", reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    client = socket.create_connection(("127.0.0.1", port.getHost().port))
    made = factory.made if hasattr(factory, "made") else factory.wrappedFactory.made
    spin(lambda: made)
    transport = made[0].transport
    calls = []
    write = transport.write
    transport.write = lambda data: (calls.append(data), write(data))
    yield transport, client, calls
    client.close()
    transport.loseConnection()
    port.stopListening()
    for _ in range(5):
        reactor.iterate(0.01)


def receive(client: socket.socket, size: int) -> bytes:
    """
    Read C{size} bytes from C{client} without running the reactor.
    """
    client.settimeout(2)
    data = b""
    while len(data) < size:
        data += client.recv(size - len(data))
    return data


@pytest.mark.parametrize("connection", [False, True], indirect=True, ids=["plain", "guarded"])
def test_fastPath(connection) -> None:
    """
    A plain TCP connection with nothing buffered is written to directly: the
    bytes are at the peer at once, and the transport's C{write} is not called.
    """
    transport, client, calls = connection
    assert directSocket(transport) is not None
    writeThrough(transport, b"x" * 1000)
    assert receive(client, 1000) == b"x" * 1000
    assert calls == []
    assert writethrough.FAST_PATH is True


@pytest.mark.parametrize("connection", [False], indirect=True)
def test_bufferedFallsBack(connection) -> None:
    """
    Once the transport holds data, what follows goes behind it, in order.
    """
    transport, client, calls = connection
    transport.write(b"first ")
    writeThrough(transport, b"second")
    assert calls == [b"first ", b"second"]
    spin(lambda: not transport.dataBuffer and not transport._tempDataLen)
    assert receive(client, 12) == b"first second"


@pytest.mark.parametrize("connection", [False], indirect=True)
def test_missingInternalsFallBack(connection, monkeypatch) -> None:
    """
    A Twisted whose C{tcp.Server} lacks one of the attributes read (here: a
    name no Twisted has, as after a rename) turns the fast path off, and
    writes still arrive, through the transport.
    """
    transport, client, calls = connection
    monkeypatch.setattr(writethrough, "FAST_PATH", None)
    monkeypatch.setattr(writethrough, "INTERNALS", (*writethrough.INTERNALS, "_renamed"))
    writeThrough(transport, b"hello")
    assert writethrough.FAST_PATH is False
    assert directSocket(transport) is None
    assert calls == [b"hello"]
    spin(lambda: not transport.dataBuffer and not transport._tempDataLen)
    assert receive(client, 5) == b"hello"


def test_otherTransports() -> None:
    """
    Anything but a plain TCP connection is written to as usual.
    """
    transport = StringTransport()
    assert directSocket(transport) is None
    writeThrough(transport, b"hello")
    assert transport.value() == b"hello"
