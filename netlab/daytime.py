"""
The Day/Time service (RFC 867), over TCP and UDP.

On connect the server sends the date and time and closes, exactly as the course's
server does: C{time.ctime()}, then C{"\\nHave a nice day!"}, plus a final
C{"\\n"} so that C{nc} and C{telnet} users see a clean line.

Twisted ships C{twisted.protocols.wire.Daytime}, but it raises on every
connection under Python 3 (it joins C{str} and C{bytes}) and reads the global
clock.  L{DaytimeProtocol} keeps C{wire.QOTD}'s shape -- write once, close --
and takes the time from the factory's injected C{IReactorTime}.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import DatagramProtocol, ServerFactory
from twisted.logger import Logger
from twisted.protocols.wire import QOTD

from netlab.ratelimit import KeyedLimiter, Rate

log = Logger(namespace="netlab")

FAREWELL = "Have a nice day!"

#: Per-source reply rate for UDP: RFC 867 over UDP answers any datagram, even an
#: empty one, with ~40 bytes; capping replies per source address keeps the
#: service from being used to reflect a flood at a spoofed victim.
DEFAULT_UDP_RATE = "2/s,5"


def formatter(spec: str) -> Callable[[float], str]:
    """
    Return a function that formats seconds since the epoch as C{spec} asks.

    @param spec: C{ctime} (the course's local-time format), C{rfc3339} (UTC,
        e.g. C{2026-11-25T01:54:32Z}) or a C{strftime} pattern (local time).
    @raise ValueError: if C{spec} is none of those.
    """
    if spec == "ctime":
        return time.ctime
    if spec == "rfc3339":
        return lambda seconds: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    if "%" not in spec:
        raise ValueError(f"{spec!r} is not ctime, rfc3339 or a strftime pattern (with %)")
    try:
        time.strftime(spec, time.localtime(0))
    except ValueError as e:
        raise ValueError(f"{spec!r} is not a valid strftime pattern: {e}") from None
    return lambda seconds: time.strftime(spec, time.localtime(seconds))


class DaytimeText:
    """
    The text the service sends: the formatted time and the farewell line.
    """

    def __init__(self, clock: IReactorTime, timeFormat: str = "ctime") -> None:
        self.clock = clock
        self.format = formatter(timeFormat)

    def __call__(self) -> bytes:
        stamp = self.format(self.clock.seconds())
        return f"{stamp}\n{FAREWELL}\n".encode()


class DaytimeProtocol(QOTD):
    """
    Send the date and time, then close (RFC 867 over TCP).
    """

    def getQuote(self) -> bytes:
        return self.factory.text()


class DaytimeFactory(ServerFactory):
    """
    Builds L{DaytimeProtocol}s that share one clock and one time format.
    """

    protocol = DaytimeProtocol
    noisy = False
    #: Each connection is answered and closed at once (see L{netlab.guard}).
    oneShot = True

    def __init__(self, clock: IReactorTime, timeFormat: str = "ctime") -> None:
        self.text = DaytimeText(clock, timeFormat)


class DaytimeDatagramProtocol(DatagramProtocol):
    """
    Answer every datagram with the date and time (RFC 867 over UDP), at most
    C{rate} replies per source address.
    """

    noisy = False

    def __init__(
        self, clock: IReactorTime, timeFormat: str = "ctime", rate: Rate | None = None
    ) -> None:
        self.text = DaytimeText(clock, timeFormat)
        self.limiter = KeyedLimiter(rate) if rate is not None else None
        self._dropped = 0

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        now = self.text.clock.seconds()
        if self.limiter is not None and not self.limiter.allow(addr[0], now):
            self._dropped += 1
            if self._dropped in (1, 10, 100) or self._dropped % 1000 == 0:
                log.warn(
                    "daytime-udp: rate limit: {dropped} datagrams unanswered so far (latest "
                    "from {host})",
                    dropped=self._dropped,
                    host=addr[0],
                )
            return
        self.transport.write(self.text(), addr)
