"""
The Day/Time service (RFC 867) over TCP; its UDP form is in L{netlab.udp}.

On connect the server sends the date and time and closes, exactly as the course's
server does: C{time.ctime()}, then C{"\\nHave a nice day!"}, plus a final
C{"\\n"} so that C{nc} and C{telnet} users see a clean line.

Twisted ships C{twisted.protocols.wire.Daytime}, but it raises on every
connection under Python 3 (it joins C{str} and C{bytes}) and reads the global
clock.  L{DaytimeProtocol} keeps C{wire.QOTD}'s shape -- write once, close
(L{netlab.oneshot}) -- and takes the time from the factory's injected
C{IReactorTime}.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import ServerFactory

from netlab.course import FAREWELL
from netlab.oneshot import OneShotProtocol

#: The format of the date by default: C{time.ctime()}, as the course's server sends.
TIME_FORMAT = "ctime"


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

    Every format has whole seconds at most (C{time.strftime} has no smaller
    field), so the text is made once a second and kept.
    """

    def __init__(self, clock: IReactorTime, timeFormat: str = TIME_FORMAT) -> None:
        self.clock = clock
        self.format = formatter(timeFormat)
        self._second: int | None = None
        self._text = b""

    def __call__(self) -> bytes:
        seconds = self.clock.seconds()
        second = int(seconds // 1)
        if second != self._second:
            stamp = self.format(seconds)
            self._second, self._text = second, f"{stamp}\n{FAREWELL}\n".encode()
        return self._text


class DaytimeProtocol(OneShotProtocol):
    """
    Send the date and time, then close (RFC 867 over TCP).
    """

    factory: DaytimeFactory

    def reply(self) -> bytes:
        return self.factory.text()


class DaytimeFactory(ServerFactory):
    """
    Builds L{DaytimeProtocol}s that share one clock and one time format.
    """

    protocol = DaytimeProtocol
    noisy = False

    def __init__(self, clock: IReactorTime, timeFormat: str = TIME_FORMAT) -> None:
        self.text = DaytimeText(clock, timeFormat)
