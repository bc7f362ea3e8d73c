"""
The other simple Internet services that inetd and xinetd carry internally, in
the manner of Twisted's C{twisted.protocols.wire}: one small class per RFC,
each with its clock injected.

  - Echo (RFC 862): send back whatever arrives.
  - Discard (RFC 863): read and throw away.
  - Character Generator (RFC 864): the rotating 72-character lines of the 95
    printable ASCII characters, each ended by CRLF, for as long as the client reads.
  - Quote of the Day (RFC 865): one short quote, then close.
  - Time (RFC 868): the seconds since 1900-01-01 00:00 UTC as an unsigned 32-bit
    big-endian integer, then close.

Why not C{wire.py}'s own: its C{Chargen} sends one fixed 73-byte pattern, not RFC
864's rotating lines; its C{Time} counts from 1970 with a signed integer (RFC 868
counts from 1900, unsigned, and today's value is past 2^31); its C{Echo} keeps
reading while the peer does not read the echo, so the echo piles up in memory.
Here nothing a peer does costs memory it does not read: Echo stops reading while
its output is backed up, and Character Generator is a pull producer that makes a
block only when the transport has sent the last one.

The UDP forms are in L{netlab.udp}; the connection limits and logging in
L{netlab.guard}, as for every service.
"""

from __future__ import annotations

import socket
import struct
from functools import cache
from importlib import resources

from twisted.internet.interfaces import IPullProducer, IPushProducer, IReactorTime
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.protocols.policies import TimeoutMixin
from zope.interface import implementer

from netlab.oneshot import OneShotProtocol

#: Seconds from 1900-01-01 (RFC 868's epoch) to 1970-01-01 (the Unix epoch).
EPOCH_1900 = 2_208_988_800

#: RFC 864: the 95 printable ASCII characters, 72 to a line, each line starting
#: one character further on.
PRINTABLE = bytes(range(32, 127))
LINE_LENGTH = 72

#: The kernel send buffer of an Echo or Character Generator connection, which
#: may face a peer that never reads.
SEND_BUFFER = 65536

#: RFC 865: a quote "should be limited to 512 characters".
MAX_QUOTE = 512


def chargenLine(n: int) -> bytes:
    """
    Line C{n} of RFC 864's pattern (lines repeat every 95), with its CRLF.
    """
    start = n % len(PRINTABLE)
    return (PRINTABLE + PRINTABLE)[start : start + LINE_LENGTH] + b"\r\n"


#: One whole cycle of the pattern (95 lines, 7,030 bytes): every block written
#: starts where the last one ended, so the stream rotates without a seam.
CHARGEN_CYCLE = b"".join(chargenLine(n) for n in range(len(PRINTABLE)))


def rfc868(seconds: float) -> bytes:
    """
    RFC 868's 4 bytes for C{seconds} since the Unix epoch (wrapping in 2036, as
    the RFC's 32 bits do).
    """
    return struct.pack("!I", (int(seconds) + EPOCH_1900) % 2**32)


@cache
def shippedQuotes() -> list[bytes]:
    """
    The quotes netlab ships, read once however many services use them.
    """
    return loadQuotes()


def loadQuotes(text: str | None = None) -> list[bytes]:
    """
    The quotes, one paragraph each (blank lines between), as CRLF-ended bytes;
    by default the list netlab ships (C{netlab/data/quotes.txt}).

    @raise ValueError: if there is no quote, or one is longer than RFC 865 allows.
    """
    if text is None:
        text = resources.files("netlab.data").joinpath("quotes.txt").read_text("utf-8")
    quotes = []
    for paragraph in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line.rstrip() for line in paragraph.splitlines() if not line.startswith("#")]
        if not any(lines):
            continue
        quote = "\r\n".join(lines).strip("\r\n").encode("ascii") + b"\r\n"
        if len(quote) > MAX_QUOTE:
            raise ValueError(f"a quote is {len(quote)} characters (RFC 865: at most {MAX_QUOTE})")
        quotes.append(quote)
    if not quotes:
        raise ValueError("no quotes")
    return quotes


def capSendBuffer(transport, size: int = SEND_BUFFER) -> None:
    """
    Fix the kernel's send buffer of a TCP connection at C{size} (Linux would
    grow it to several MiB for a peer that does not read: 600 chargen clients
    that never read held 1.3 GB of the host's TCP memory).  Connections that
    are no plain socket (TLS, tests) are left as they are.
    """
    try:
        handle = transport.getHandle()
    except (AttributeError, NotImplementedError):
        return
    if isinstance(handle, socket.socket):
        handle.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


def quoteOfTheDay(quotes: list[bytes], seconds: float) -> bytes:
    """
    The quote for the day C{seconds} (since the Unix epoch) falls in: it changes
    at midnight UTC and is the same for everyone that day.
    """
    return quotes[int(seconds // 86400) % len(quotes)]


class IdleProtocol(Protocol, TimeoutMixin):
    """
    A connection that is closed after C{factory.idleTimeout} seconds without
    input, timed by the factory's clock.
    """

    factory: SimpleFactory

    def callLater(self, period, func):  # TimeoutMixin's hook, on the injected clock
        return self.factory.clock.callLater(period, func)

    def connectionMade(self) -> None:
        self.setTimeout(self.factory.idleTimeout)

    def connectionLost(self, reason=None) -> None:
        self.setTimeout(None)

    def timeoutConnection(self) -> None:
        # A paused streaming producer would hold a close open (the transport
        # resumes it instead of closing); a close that stalls on a peer that
        # does not read is cut by the guard (netlab.guard.CLOSE_GRACE).
        if IPushProducer.providedBy(self):
            self.transport.unregisterProducer()
        self.transport.loseConnection()


@implementer(IPushProducer)
class Echo(IdleProtocol):
    """
    Send back whatever arrives (RFC 862).  While the peer does not read what
    is sent back, the peer is not read from either.
    """

    def connectionMade(self) -> None:
        super().connectionMade()
        capSendBuffer(self.transport)
        self.transport.registerProducer(self, True)

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        self.transport.write(data)

    def pauseProducing(self) -> None:
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        pass


class Discard(IdleProtocol):
    """
    Read and throw away whatever arrives (RFC 863).
    """

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()


@implementer(IPullProducer)
class Chargen(Protocol):
    """
    Send RFC 864's rotating lines for as long as the peer reads them, one
    7 KiB cycle each time the transport has sent the last; input is discarded.
    """

    def connectionMade(self) -> None:
        capSendBuffer(self.transport)
        self.transport.registerProducer(self, False)

    def resumeProducing(self) -> None:
        self.transport.write(CHARGEN_CYCLE)

    def stopProducing(self) -> None:
        pass


class QOTD(OneShotProtocol):
    """
    Send the quote of the day (L{quoteOfTheDay}), then close (RFC 865).
    """

    factory: SimpleFactory

    def reply(self) -> bytes:
        return quoteOfTheDay(self.factory.quotes, self.factory.clock.seconds())


class Time(OneShotProtocol):
    """
    Send the time as RFC 868's 32-bit count of seconds since 1900, then close.
    """

    factory: SimpleFactory

    def reply(self) -> bytes:
        return rfc868(self.factory.clock.seconds())


class SimpleFactory(ServerFactory):
    """
    Builds one of this module's protocols, with the clock and settings they share.
    """

    noisy = False

    def __init__(
        self,
        protocol: type[Protocol],
        clock: IReactorTime,
        idleTimeout: float | None = None,
        quotes: list[bytes] | None = None,
    ) -> None:
        self.protocol = protocol
        self.clock = clock
        self.idleTimeout = idleTimeout or None
        if quotes is None:  # only Quote of the Day says any
            quotes = shippedQuotes() if protocol is QOTD else []
        self.quotes = quotes


#: The services of this module: name -> protocol.
PROTOCOLS: dict[str, type[Protocol]] = {
    "echo": Echo,
    "discard": Discard,
    "chargen": Chargen,
    "qotd": QOTD,
    "time": Time,
}
