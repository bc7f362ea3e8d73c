"""
Writing straight to a socket when nothing is in the way.

C{transport.write} leaves the sending to the next reactor turn and asks the
poller twice (two C{epoll_ctl} calls) to watch the socket for writability; for
a chat room of a thousand that is most of the cost of a message.
L{writeThrough} sends at once when the transport is a plain TCP connection with
nothing buffered, and otherwise -- or for whatever the socket does not take --
writes through the transport as usual, in order.

This reads private attributes of Twisted's C{tcp.Server}, and this module is the
only place that does.  They are checked once, on the first plain TCP connection:
if a Twisted release renames or drops one of them, L{FAST_PATH} becomes L{False}
and every write takes the ordinary path (slower, never wrong).
"""

from __future__ import annotations

import socket

from twisted.internet import tcp
from twisted.internet.interfaces import ITransport

#: The C{tcp.Server} attributes the fast path reads: the socket, the two write
#: buffers, and the connection's state.
INTERNALS = ("socket", "dataBuffer", "_tempDataLen", "connected", "disconnecting", "TLS")

#: Whether the fast path is in use: L{None} until the first plain TCP
#: connection shows whether it has every one of L{INTERNALS}, then L{True} or
#: L{False} for the rest of the process.
FAST_PATH: bool | None = None


def directSocket(transport: ITransport) -> socket.socket | None:
    """
    The socket under C{transport} if data may be sent on it directly now: a
    plain TCP server connection (or a wrapper around one that says it passes
    writes straight through, as the guard's does: C{writesThrough}), connected,
    not closing, not TLS, with nothing waiting in its buffers.  L{None} otherwise.
    """
    raw = transport.transport if getattr(type(transport), "writesThrough", False) else transport
    return _plainSocket(raw)


def _plainSocket(raw: object) -> socket.socket | None:
    global FAST_PATH
    if type(raw) is not tcp.Server or FAST_PATH is False:
        return None
    if FAST_PATH is None:
        FAST_PATH = all(hasattr(raw, name) for name in INTERNALS)
        if not FAST_PATH:
            return None
    if raw.dataBuffer or raw._tempDataLen or not raw.connected:
        return None
    if raw.disconnecting or raw.TLS:
        return None
    return raw.socket


def writeThrough(transport: ITransport, data: bytes) -> None:
    """
    Write C{data}: straight to the socket when L{directSocket} allows, the
    rest (or all of it) through C{transport}.

    (A chat line is sent so to each of a room's members: this is the room's
    inner loop, written to make as few calls as it can.)
    """
    wrapped = getattr(type(transport), "writesThrough", False)
    sock = _plainSocket(transport.transport if wrapped else transport)
    if sock is None:
        transport.write(data)
        return
    try:
        sent = sock.send(data)
    except OSError:  # EAGAIN, or an error the transport will meet itself
        sent = 0
    if sent != len(data) or wrapped:
        sentThrough(transport, data, sent)


def sentThrough(transport: ITransport, data: bytes, sent: int) -> None:
    """
    The first C{sent} bytes of C{data} were sent on L{directSocket}'s socket
    (by another thread, say): count them as L{writeThrough} would, and write
    the rest through C{transport}.
    """
    if sent and getattr(type(transport), "writesThrough", False):  # (the guard counts it)
        transport.wrote(data if sent == len(data) else data[:sent])
    if sent != len(data):
        transport.write(data[sent:] if sent else data)
