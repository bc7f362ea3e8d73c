"""
The Day/Time client: over TCP, print what the server sends until it closes; over UDP, send one
datagram and print the one that comes back (RFC 867).
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, error
from twisted.internet.address import IPv6Address
from twisted.internet.endpoints import connectProtocol
from twisted.internet.interfaces import (
    IReactorTime,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure
from zope.interface import implementer

from netlab.client.connect import LineProtocol, _raiseTimeout
from netlab.client.errors import ConnectTimeoutError, TLSError
from netlab.client.text import LineBuffer, printable

#: Seconds between UDP requests while no answer has come: a lost datagram is retried, but rarely
#: enough that the server's per-address rate limit is not provoked.
UDP_RETRY_INTERVAL = 2.0


class DaytimePrinter:
    """
    Receives the server's lines for L{LineProtocol}: prints each, and C{closed} fires at the end.

    Cancelling C{closed} (the overall timeout) drops the connection.

    @ivar protocol: the connection's protocol, set by whoever connects it.
    @ivar closed: fires when the server has closed the connection; fails if TLS broke it.
    """

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self.protocol: LineProtocol | None = None
        self.closed: defer.Deferred[None] = defer.Deferred(self._cancel)

    def _cancel(self, closed: defer.Deferred[None]) -> None:
        if self.protocol is not None:
            self.protocol.abort()

    def serverLine(self, text: str) -> None:
        """
        Print one line as soon as it arrives.
        """
        self._write(text + "\n")

    def serverActivity(self) -> None:
        """
        Nothing to do: one deadline covers the whole exchange, however the answer arrives.
        """

    def serverClosed(self, reason: Failure) -> None:
        """
        The server closed: that is how a Day/Time exchange ends, unless TLS broke it.
        """
        if self.closed.called:  # cancelled by the timeout, which already reported the failure
            return
        if reason.check(TLSError):
            self.closed.errback(reason)
        else:
            self.closed.callback(None)


def fetchTCP(
    endpoint: IStreamClientEndpoint, clock: IReactorTime, timeout: float,
    write: Callable[[str], None],
) -> defer.Deferred[None]:
    """
    Connect and print every line until the server closes; fail if all that takes over C{timeout}.

    One deadline covers connecting, the TLS handshake if any, and the answer: a server that accepts
    but never answers (or never closes) cannot hang a script.

    @param endpoint: where to connect.
    @param clock: what measures C{timeout}.
    @param timeout: seconds for the whole exchange.
    @param write: writes each line, with its newline.
    @return: a L{defer.Deferred} that fires when the server has closed the connection, or fails
        with L{ConnectTimeoutError}, L{TLSError} or the reason connecting failed.
    """
    printer = DaytimePrinter(write)
    protocol = printer.protocol = LineProtocol(printer)
    exchange = connectProtocol(endpoint, protocol)
    exchange.addCallback(lambda _: protocol.ready)
    exchange.addCallback(lambda _: printer.closed)

    def timedOut(result: object, timeout: float) -> None:
        phase = "waiting for the answer of" if protocol.ready.called else "connecting to"
        raise ConnectTimeoutError(phase)

    return exchange.addTimeout(timeout, clock, onTimeoutCancel=timedOut)


class DaytimeDatagram(DatagramProtocol):
    """
    Ask a Day/Time server over UDP: send a one-byte datagram, take the first reply.

    The UDP socket is connected to the server's address, so datagrams from anyone else are ignored
    by the kernel, and an ICMP "port unreachable" is reported as C{connectionRefused}.

    @ivar answer: fires with the first datagram that comes back, or fails with the reason none
        will.
    """

    def __init__(self, host: str, port: int, clock: IReactorTime) -> None:
        self.host = host
        self.port = port
        self.answer: defer.Deferred[bytes] = defer.Deferred()
        self._port: Any = None
        self._sender = LoopingCall(self._send)
        self._sender.clock = clock

    def startProtocol(self) -> None:
        """
        Connect the socket to the server and start asking.
        """
        self._port = self.transport  # doStop clears C{transport} before calling stopProtocol
        self.transport.connect(self.host, self.port)
        self._sender.start(UDP_RETRY_INTERVAL, now=True)

    def _send(self) -> None:
        """
        Send one request; any datagram will do, RFC 867 says.
        """
        self.transport.write(b"\n")

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        """
        The first answer is the one we print.
        """
        self._stop()
        if not self.answer.called:
            self.answer.callback(data)

    def connectionRefused(self) -> None:
        """
        Nobody listens on that UDP port (ICMP port unreachable).
        """
        self._stop()
        if not self.answer.called:
            self.answer.errback(error.ConnectionRefusedError())

    def stopProtocol(self) -> None:
        """
        The port is closing: no more requests; if no answer came, say why the socket died.

        With the epoll reactor an ICMP "port unreachable" does not reach C{connectionRefused}: the
        kernel reports only EPOLLERR, and Twisted then closes the port.  The pending socket error
        still tells what happened.
        """
        self._stop()
        if not self.answer.called:
            code = self._socketError()
            if code == errno.ECONNREFUSED:
                self.answer.errback(error.ConnectionRefusedError())
            else:
                reason = os.strerror(code) if code else "socket closed"
                self.answer.errback(error.ConnectionLost(f"UDP socket failed: {reason}"))

    def _socketError(self) -> int:
        """
        Return the socket's pending error number (SO_ERROR), 0 if none or unknown.
        """
        try:
            handle = self._port.getHandle()
            return int(handle.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        except (AttributeError, OSError):
            return 0

    def _stop(self) -> None:
        """
        Stop sending requests.
        """
        if self._sender.running:
            self._sender.stop()


def resolve(reactor: Any, host: str, port: int) -> defer.Deferred[list[Any]]:
    """
    Resolve C{host} to addresses for UDP through the reactor's (non-blocking) name resolver.

    @return: a L{defer.Deferred} that fires with the addresses, or fails with
        L{error.DNSLookupError}.
    """
    result: defer.Deferred[list[Any]] = defer.Deferred()
    addresses: list[Any] = []

    @implementer(IResolutionReceiver)
    class Receiver:
        def resolutionBegan(self, resolution: object) -> None:
            pass

        def addressResolved(self, address: Any) -> None:
            addresses.append(address)

        def resolutionComplete(self) -> None:
            if addresses:
                result.callback(addresses)
            else:
                result.errback(error.DNSLookupError(host))

    reactor.nameResolver.resolveHostName(Receiver(), host, port, transportSemantics="UDP")
    return result


async def fetchUDP(reactor: Any, host: str, port: int, timeout: float) -> bytes:
    """
    Resolve, send the request from an ephemeral port, and return the answer's bytes.

    @param reactor: the reactor to resolve, listen and time with.
    @param host: the server's host name or address.
    @param port: the server's UDP port.
    @param timeout: seconds to wait for the answer, retries included.
    @raise ConnectTimeoutError: if no answer came within C{timeout}.
    """
    addresses = await resolve(reactor, host, port)
    address = addresses[0]
    interface = "::" if isinstance(address, IPv6Address) else ""
    protocol = DaytimeDatagram(address.host, port, reactor)
    listening = reactor.listenUDP(0, protocol, interface=interface)
    try:
        answer = protocol.answer.addTimeout(
            timeout, reactor, onTimeoutCancel=_raiseTimeout("waiting for the answer of")
        )
        return await answer
    finally:
        await defer.maybeDeferred(listening.stopListening)


def printDatagram(data: bytes, write: Callable[[str], None]) -> None:
    """
    Print a datagram's text line by line, scrubbed like everything else the server sends.

    @param data: the datagram.
    @param write: writes each line, with its newline.
    """
    lines = LineBuffer()
    for line in lines.feed(data) + lines.flush():
        write(printable(line) + "\n")
