"""
The UDP forms of the simple services (Day/Time, Echo, Discard, Character
Generator, Quote of the Day, Time), all behind one L{UDPGuard}.

Over UDP a server answers whoever the source address names, and nothing proves
that address: a tiny spoofed datagram makes the server send a larger reply to a
victim (reflection and amplification), and echo or chargen pointed at each
other's ports ping-pong for ever.  So, for every service and every datagram:

  - no reply to a source port below 1024 (the classic services' own ports, 7,
    9, 13, 17, 19 and 37, are among them) nor to a port netlab itself serves,
    which ends echo/chargen loops between two such services;
  - at most C{rate} replies per source address, and at most C{BYTE_RATE} reply
    bytes per source address, counted over all the UDP services together, so
    that asking six services does not give a source six budgets;
  - what is dropped is logged, throttled: the first drop, then at most one
    line a minute with the running count.
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable, Collection

from twisted.application.service import Service
from twisted.internet import udp
from twisted.internet.interfaces import IReactorTime
from twisted.internet.posixbase import PosixReactorBase
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from netlab.address import plainHost
from netlab.daytime import DaytimeText
from netlab.ratelimit import KeyedLimiter, Rate
from netlab.simple import CHARGEN_CYCLE, quoteOfTheDay, rfc868, shippedQuotes

log = Logger(namespace="netlab")

#: Replies per source address: any datagram, even an empty one, earns a reply
#: (~40 bytes of Day/Time, up to 512 of chargen), so without a cap a spoofed
#: flood would be reflected, amplified, at its victim.
DEFAULT_RATE = Rate(2.0, 5)

#: Reply bytes per source address over all UDP services: 4 KiB a second, in
#: bursts of 8 KiB (an echo of a full 8 KiB datagram still passes, once).
BYTE_RATE = Rate(4096.0, 8192)

#: Drops are logged at most once in this many seconds, with the running count:
#: a flood of any size grows the log by a line a minute.
DROP_LOG_INTERVAL = 60.0

#: Datagrams a UDP port handles in one reactor turn before others are served.
DATAGRAMS_PER_TURN = 256

#: Source ports below this are never answered (RFC 862-868 services live there).
FIRST_CLIENT_PORT = 1024


class UDPGuard:
    """
    What every UDP service shares: the per-source limits and the ports that are
    never answered.

    @ivar forbiddenPorts: source ports that get no reply (netlab's own).
    """

    def __init__(
        self,
        clock: IReactorTime,
        rate: Rate | None,
        forbiddenPorts: Collection[int] = (),
        byteRate: Rate | None = BYTE_RATE,
    ) -> None:
        self.clock = clock
        self.forbiddenPorts = frozenset(forbiddenPorts)
        self.replies = KeyedLimiter(rate) if rate is not None else None
        self.bytes = KeyedLimiter(byteRate) if byteRate is not None else None
        self.dropped = 0
        self._loggedAt: float | None = None

    def allow(self, service: str, addr: tuple[str, int], size: int) -> bool:
        """
        Whether C{service} may send C{size} bytes to C{addr}; log drops, throttled.
        """
        host, port = plainHost(addr[0]), addr[1]
        if port < FIRST_CLIENT_PORT or port in self.forbiddenPorts:
            why = f"source port {port} is never answered"
        else:
            now = self.clock.seconds()
            if self.replies is not None and not self.replies.allow(host, now):
                why = "reply rate per source"
            elif self.bytes is not None and not self.bytes.allow(host, now, size):
                why = "reply bytes per source"
            else:
                return True
        self.dropped += 1
        now = self.clock.seconds()
        if self._loggedAt is None or now - self._loggedAt >= DROP_LOG_INTERVAL:
            self._loggedAt = now
            log.warn(
                "{service}-udp: {dropped} datagrams unanswered so far (latest from {host}: {why};"
                " the next such line in {interval:.0f} s at the earliest)",
                service=service,
                dropped=self.dropped,
                host=host,
                why=why,
                interval=DROP_LOG_INTERVAL,
            )
        return False


class GuardedDatagramProtocol(DatagramProtocol):
    """
    One UDP service: C{reply(datagram)} makes the answer (or L{None}: none),
    and the guard decides whether it goes out.
    """

    noisy = False

    def __init__(
        self, service: str, reply: Callable[[bytes], bytes | None], guard: UDPGuard
    ) -> None:
        self.service = service
        self.reply = reply
        self.guard = guard

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        answer = self.reply(datagram)
        if answer is not None and self.guard.allow(self.service, addr, len(answer)):
            self.transport.write(answer, addr)


class BoundedPort(udp.Port):
    """
    A UDP port that handles at most L{DATAGRAMS_PER_TURN} datagrams each time
    the reactor finds it readable, then lets the reactor serve everyone else.

    Twisted's own port reads until the socket is empty or 256 KiB of payload
    have come -- and empty datagrams count nothing, so a flood of them (or of
    spoofed sources) kept the reactor in one read loop while TCP clients waited
    for seconds.  The socket stays readable, so the reactor comes back to it on
    its next turn.
    """

    def doRead(self) -> None:
        for _ in range(DATAGRAMS_PER_TURN):
            try:
                data, addr = self.socket.recvfrom(self.maxPacketSize)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR, errno.ECONNREFUSED):
                    return
                raise
            try:
                self.protocol.datagramReceived(data, addr[:2])
            except Exception:
                log.failure(
                    "{service}-udp: a datagram could not be handled",
                    service=getattr(self.protocol, "service", "?"),
                )


class UDPListener(Service):
    """
    One UDP service's port, a L{BoundedPort} on a real reactor (others, such as
    a test's memory reactor, are asked with C{listenUDP}).

    @ivar option: how the user asked for it, for messages.
    """

    def __init__(self, option: str, port: int, protocol, interface: str, reactor) -> None:
        self.option = option
        self.portNumber = port
        self.protocol = protocol
        self.interface = interface
        self.reactor = reactor
        self.port = None

    def _listen(self) -> None:
        if self.port is not None:
            return
        if isinstance(self.reactor, PosixReactorBase):
            port = BoundedPort(self.portNumber, self.protocol, self.interface, reactor=self.reactor)
            port.startListening()
        else:
            port = self.reactor.listenUDP(self.portNumber, self.protocol, interface=self.interface)
        self.port = port

    def privilegedStartService(self) -> None:
        self._listen()
        super().privilegedStartService()

    def startService(self) -> None:
        self._listen()
        super().startService()

    def stopService(self):
        super().stopService()
        port, self.port = self.port, None
        if port is not None:
            return port.stopListening()


def chargenDatagram(rng: random.Random) -> bytes:
    """
    RFC 864 over UDP: a random number (0 to 512) of characters of the pattern.
    """
    return CHARGEN_CYCLE[: rng.randint(0, 512)]


def replies(
    clock: IReactorTime,
    timeFormat: str = "ctime",
    quotes: list[bytes] | None = None,
    rng: random.Random | None = None,
) -> dict[str, Callable[[bytes], bytes | None]]:
    """
    The reply function of every UDP service, by name.
    """
    daytime = DaytimeText(clock, timeFormat)
    quoteList = quotes if quotes is not None else shippedQuotes()
    generator = rng or random.Random()
    return {
        "daytime": lambda _: daytime(),
        "echo": lambda datagram: datagram,
        "discard": lambda _: None,
        "chargen": lambda _: chargenDatagram(generator),
        "qotd": lambda _: quoteOfTheDay(quoteList, clock.seconds()),
        "time": lambda _: rfc868(clock.seconds()),
    }
