"""
Turning connection failures into the one line the user sees.

The client never shows a traceback: every expected failure (refused, unknown host, timeout, TLS)
maps to a short sentence naming what was tried, and anything unexpected still becomes one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet import error
from twisted.python.failure import Failure


class ClientError(Exception):
    """
    A failure to report as one line on stderr, ending the client with C{status}.

    @ivar message: the line to print.
    @ivar status: the client's exit status.
    """

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ConnectTimeoutError(Exception):
    """
    Raised when connecting (or the whole exchange, for daytime) took longer than C{--timeout}.

    Its text says what was going on ("connecting to", "waiting for"), completing the message.
    """


class TLSError(Exception):
    """
    Raised when a TLS handshake or TLS session fails; the message says why in OpenSSL's words.
    """


def tlsReason(exc: BaseException) -> str | None:
    """
    A readable reason if C{exc} is a TLS error (pyOpenSSL or certificate checking).

    pyOpenSSL packs its errors as a list of C{(library, function, reason)} tuples; the reasons
    alone are what a person wants to read ("wrong version number", "certificate verify failed").

    @return: the reason, or L{None} if C{exc} is not a TLS error.
    """
    if isinstance(exc, TLSError):
        return str(exc)
    try:
        from OpenSSL import SSL
    except ImportError:  # pragma: no cover - without pyOpenSSL there are no TLS connections at all
        return None
    if isinstance(exc, SSL.Error):
        details = exc.args[0] if exc.args else []
        if not isinstance(details, list):
            return str(details) or "handshake failed"
        reasons = [entry[-1] for entry in details if isinstance(entry, tuple) and entry[-1]]
        return ", ".join(reasons) or "handshake failed"
    if type(exc).__name__ == "VerificationError":  # service_identity's host name mismatch
        return f"certificate does not match the host name ({exc})"
    return None


@dataclass(frozen=True)
class Target:
    """
    What the client talks to, for messages.

    @ivar description: how messages name it (C{"localhost port 21568"}, an endpoint string).
    @ivar host: the host name it was given, or L{None} for C{--connect}.
    """

    description: str
    host: str | None = None

    def __str__(self) -> str:
        return self.description


def describeFailure(failure: Failure, target: Target, timeout: float) -> str:
    """
    The one line to show for a failure talking to C{target}.

    @param failure: what went wrong.
    @param target: what the client was talking to.
    @param timeout: the C{--timeout} in effect, for the message about a timeout.
    @return: the message, prefixed C{netlab:}.
    """
    exc = failure.value
    reason = tlsReason(exc)
    if reason is not None:
        return f"netlab: TLS failure with {target}: {reason}"
    if isinstance(exc, ConnectTimeoutError):
        return f"netlab: timed out after {timeout:g} s {exc} {target}"
    if isinstance(exc, error.DNSLookupError):
        return f"netlab: unknown host {target.host or target}"
    if isinstance(exc, error.ConnectionRefusedError):
        return f"netlab: connection refused by {target}"
    if isinstance(exc, (error.ConnectError, error.ConnectionLost, OSError)):
        detail = str(exc).strip().rstrip(".") or type(exc).__name__
        return f"netlab: cannot connect to {target}: {detail}"
    if isinstance(exc, ClientError):
        return exc.message
    return f"netlab: error talking to {target}: {type(exc).__name__}: {exc}"
