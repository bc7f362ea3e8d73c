"""
Endpoints and the network side of the client: one line-oriented protocol for every service.

The client speaks to servers only through Twisted endpoints, so C{--connect} accepts anything
L{clientFromString} does (C{tcp:}, C{tls:}, C{unix:} ...) and a plain HOST uses
L{HostnameEndpoint}, which resolves names, understands IPv6 literals and tries IPv4 and IPv6
addresses in parallel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import Protocol as TypingProtocol

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, clientFromString, connectProtocol
from twisted.internet.interfaces import (
    IHandshakeListener,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from netlab.client.errors import ClientError, ConnectTimeoutError, Target, TLSError, tlsReason
from netlab.client.text import LineBuffer, printable


class VerificationWatch:
    """
    A log observer that catches certificate checks Twisted only logs.

    Twisted's TLS client logs -- rather than fails -- a certificate whose host
    name cannot be checked at all (for example one with no subjectAltName, as
    C{openssl req -subj /CN=...} makes), and the handshake goes on.  The client
    watches for that log event, fails the connection with one line, and keeps
    the traceback off the terminal.  Every other log event is dropped: a
    command-line client reports its own failures.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def __call__(self, event: dict) -> None:
        failure = event.get("log_failure")
        if failure is not None and event.get("log_format") == "while verifying certificate":
            self.problems.append(failure.getErrorMessage() or failure.type.__name__)

    def take(self) -> str | None:
        """
        The first problem seen since the last call, if any.
        """
        problems, self.problems = self.problems, []
        return problems[0] if problems else None


#: The client's one log observer (installed by L{netlab.client.main}).
VERIFICATION = VerificationWatch()


class LineSink(TypingProtocol):
    """
    What L{LineProtocol} reports to: each printable server line, then the connection's end.
    """

    def serverLine(self, text: str) -> None:
        """
        Handle one line from the server, already decoded and scrubbed.

        @param text: the line, without its terminator.
        """

    def serverActivity(self) -> None:
        """
        Note that bytes came from the server, a whole line or only part of one.

        Called before the lines those bytes finished, if any, are handed to L{serverLine}: a
        server that sends its lines in small pieces (C{twistd netlab --lab split=N}) is not
        silent while a long line is still on its way.
        """

    def serverClosed(self, reason: Failure) -> None:
        """
        Handle the end of the connection.

        @param reason: why it ended; it wraps a L{TLSError} if TLS broke it.
        """


def stripBrackets(host: str) -> str:
    """
    Accept C{[::1]} as well as C{::1}: URLs taught everyone to bracket IPv6 literals.
    """
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def makeEndpoint(
    reactor: Any, host: str, port: int, connect: str | None, timeout: float
) -> tuple[IStreamClientEndpoint, Target]:
    """
    Build the client endpoint for HOST/PORT or an endpoint string, and a L{Target} for messages.

    @param reactor: the reactor the endpoint connects with.
    @param host: a host name or IPv4/IPv6 address (an IPv6 one may be bracketed).
    @param port: the port on C{host}.
    @param connect: a Twisted client endpoint string, used instead of C{host} and C{port}; or
        L{None}.
    @param timeout: seconds to give a connection attempt to C{host}.
    @return: the endpoint, and the target to name in messages.
    @raise ClientError: if the endpoint string is malformed (unknown type, missing or bad
        argument).
    """
    if connect is not None:
        try:
            endpoint = clientFromString(reactor, connect)
        except (ValueError, TypeError, KeyError, NotImplementedError, ImportError) as exc:
            raise ClientError(f"netlab: invalid endpoint {connect!r}: {exc}", status=2) from exc
        return endpoint, Target(connect)
    host = stripBrackets(host)
    shown = f"[{host}]" if ":" in host else host
    endpoint = HostnameEndpoint(reactor, host, port, timeout=timeout)
    return endpoint, Target(f"{shown} port {port}", host)


def isTLS(transport: object) -> bool:
    """
    Tell whether C{transport} is a TLS connection (Twisted's memory-BIO TLS wrapper).
    """
    try:
        from twisted.protocols.tls import TLSMemoryBIOProtocol
    except ImportError:  # pragma: no cover - no pyOpenSSL, so no TLS transports either
        return False
    return isinstance(transport, TLSMemoryBIOProtocol)


@implementer(IHandshakeListener)
class LineProtocol(Protocol):
    """
    The network side: splits server bytes into printable lines and sends the user's lines.

    C{ready} fires once the connection can carry text: at once for plain TCP and UNIX sockets,
    after the handshake for TLS -- so that a TLS failure is reported as such and C{--timeout}
    covers the handshake too.  If the connection ends before it is ready, C{ready} fails instead.

    @ivar sink: what hears about each server line and the connection's end (once C{ready} fired).
    @ivar ready: fires with this protocol once the connection can carry text.
    @ivar tls: whether the transport is a TLS connection.
    @ivar closed: whether the connection has been lost.
    """

    def __init__(self, sink: LineSink) -> None:
        self.sink = sink
        self.ready: defer.Deferred[LineProtocol] = defer.Deferred(self._cancelReady)
        self.tls = False
        self._handshakeDone = False
        self._tlsProblem: str | None = None
        self._lines = LineBuffer()
        self._live = False  # ready fired: the sink now hears about lines and the end
        self.closed = False

    def connectionMade(self) -> None:
        """
        Mark the connection ready, unless a TLS handshake has to finish first.
        """
        self.tls = isTLS(self.transport)
        if not self.tls:
            self._goLive()

    def handshakeCompleted(self) -> None:
        """
        The TLS handshake succeeded: now the connection is ready (renegotiations are ignored).

        Unless Twisted merely logged a failed certificate check (see L{VerificationWatch}).
        """
        problem = VERIFICATION.take()
        if problem is not None:
            self._tlsProblem = f"certificate verify failed: {problem}"
            self.transport.abortConnection()
            return
        if not self._handshakeDone:
            self._handshakeDone = True
            self._goLive()

    def _goLive(self) -> None:
        """
        Start reporting to the sink and tell whoever waits for C{ready}.
        """
        if not self.ready.called:
            self._live = True
            self.ready.callback(self)

    def dataReceived(self, data: bytes) -> None:
        """
        Tell the sink that the server is talking, then hand it every complete line.
        """
        self.sink.serverActivity()
        for line in self._lines.feed(data):
            self.sink.serverLine(printable(line))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Deliver an unterminated last line, then report the end (or the failure to get ready).
        """
        self.closed = True
        reason = self._classify(reason)
        if not self._live:
            if not self.ready.called:  # not when the wait was cancelled (timeout) and we aborted
                self.ready.errback(reason)
            return
        for line in self._lines.flush():
            self.sink.serverLine(printable(line))
        self.sink.serverClosed(reason)

    def _classify(self, reason: Failure) -> Failure:
        """
        Turn a TLS error, or a TLS connection that ended mid-handshake, into a L{TLSError}.
        """
        if not self.tls:
            return reason
        detail = self._tlsProblem or tlsReason(reason.value)
        if detail is None and not self._handshakeDone:
            detail = "connection closed during the handshake"
        return reason if detail is None else Failure(TLSError(detail))

    def _cancelReady(self, ready: defer.Deferred[LineProtocol]) -> None:
        """
        Cancelling the wait for readiness (a timeout) drops the half-made connection.
        """
        if self.transport is not None:
            self.transport.abortConnection()

    def sendLine(self, text: str) -> None:
        """
        Send one line of user text, UTF-8 encoded and terminated by C{\\n}.
        """
        self.transport.write(text.encode("utf-8", errors="replace") + b"\n")

    def close(self) -> None:
        """
        Close after the pending output has been sent.
        """
        if not self.closed:
            self.transport.loseConnection()

    def abort(self) -> None:
        """
        Drop the connection at once, discarding pending output (Ctrl-C).
        """
        if not self.closed:
            self.transport.abortConnection()


def _raiseTimeout(phase: str) -> Callable[[object, float], object]:
    """
    Build an C{onTimeoutCancel} hook that reports a timeout as L{ConnectTimeoutError}(C{phase}).
    """

    def onTimeout(result: object, timeout: float) -> object:
        raise ConnectTimeoutError(phase)

    return onTimeout


def connectLines(
    endpoint: IStreamClientEndpoint, protocol: LineProtocol, clock: IReactorTime, timeout: float
) -> defer.Deferred[LineProtocol]:
    """
    Connect C{protocol} and wait until it is ready, failing with L{ConnectTimeoutError} after
    C{timeout}.

    Our own timeout (rather than only the endpoint's) also bounds TLS handshakes and endpoint types
    that have no timeout of their own.

    @param endpoint: where to connect.
    @param protocol: the protocol to connect.
    @param clock: what measures C{timeout}.
    @param timeout: seconds to wait for the connection to be ready.
    @return: a L{defer.Deferred} that fires with C{protocol} once it is ready.
    """
    connecting = connectProtocol(endpoint, protocol)
    connecting.addCallback(lambda _: protocol.ready)
    return connecting.addTimeout(timeout, clock, onTimeoutCancel=_raiseTimeout("connecting to"))
