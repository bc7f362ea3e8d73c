"""
The Doctor over the network: one L{Doctor} per connection.

The course's therapy server greets each client with C{doctor.greeting()} and
answers every message with C{doctor.reply(message)}; L{DoctorProtocol} does the
same for many clients at once, with the framing the Chat service uses (so the
course's bare-message clients, C{nc} and C{telnet} all work).  C{quit}, C{bye}
or C{goodbye} get the farewell and a clean close.

This is the only module under C{netlab.doctor} that imports Twisted.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from netlab.doctor.doctor import Doctor
from netlab.doctor.model import Script
from netlab.framing import MessageFactory, MessageReceiver
from netlab.pacing import AddressShare
from netlab.ratelimit import Rate
from netlab.text import scrub

log = Logger(namespace="netlab")

#: What a patient says to leave (compared without case or closing punctuation).
GOODBYES = frozenset({"quit", "bye", "goodbye"})

#: Messages per connection by default: ten a second, bursts of 50 (a person
#: types far slower; a program that pipes a file gets its answers at this pace).
RATE = Rate(10.0, 50)

#: Messages per IP address by default, over all its connections: 50 a second,
#: bursts of 200.  A hostile 4 KiB line costs the engine up to ~2 ms, so this
#: keeps one address to about a tenth of a core however many connections it
#: opens (256 connections at the per-connection pace kept a core busy), and a
#: class behind one NAT typing at human speed never meets it.
ADDRESS_RATE = Rate(50.0, 200)

#: What one read from a client takes at most: a client's pipelined lines wait
#: here for their pace, so this bounds the input a session holds (Twisted's
#: 64 KiB made 1,000 pipelining sessions cost 64 MiB).
READ_SIZE = 16 * 1024

#: Lines a peer can cause are logged at most once in this many seconds, with at
#: most this many characters of what the peer sent.
LOG_INTERVAL = 60.0
EXCERPT = 60


class DoctorProtocol(MessageReceiver):
    """
    A therapy session: the greeting on connect, exactly one reply per message.

    @ivar doctor: this connection's conversation, made on connect.
    """

    doctor: Doctor

    def connectionMade(self) -> None:
        """
        Start this connection's conversation and send the greeting.
        """
        super().connectionMade()
        self.doctor = Doctor(self.factory.script)
        self.sendMessage(self.doctor.greeting())

    def messageReceived(self, text: str) -> None:
        """
        Answer one message; blank ones are ignored, goodbyes end the session.
        """
        text = scrub(text).strip()
        if not text:
            return
        if text.rstrip(".!? ").lower() in GOODBYES:
            self.sendMessage(self.doctor.farewell())
            self.transport.loseConnection()
            return
        reply = self.doctor.respond(text)
        if reply.stepCapped:
            self.factory.scriptLooped(text)
        self.sendMessage(reply.text)

    def bareMessageReceived(self, text: str) -> None:
        """
        A lockstep client waits for exactly one reply, even to a blank message:
        the Doctor answers it as the script answers an empty line.
        """
        if scrub(text).strip():
            self.messageReceived(text)
        else:
            self.sendMessage(self.doctor.respond("").text)


class DoctorFactory(MessageFactory):
    """
    Builds L{DoctorProtocol}s that share one parsed script.
    """

    protocol = DoctorProtocol
    readSize = READ_SIZE

    def __init__(
        self,
        clock: IReactorTime,
        script: Script | None = None,
        rate: Rate | None = RATE,
        addressRate: Rate | None = ADDRESS_RATE,
        **framing,
    ) -> None:
        """
        @param clock: the time source for the framing's timers and the log throttle.
        @param script: the script every connection talks with; the project's
            default script if C{None}.
        @param rate: each connection's pace (L{netlab.pacing}), or L{None}.
        @param addressRate: each address's pace over all its connections, or L{None}.
        @param framing: passed on to L{MessageFactory}.
        """
        super().__init__(clock, rate=rate, **framing)
        self.addressShare = AddressShare(addressRate, None) if addressRate else None
        self.script = script if script is not None else Doctor().script
        self._loopedAt: float | None = None
        self._looped = 0

    def scriptLooped(self, text: str) -> None:
        """
        The script hit the step cap on C{text}: worth a log line for whoever
        maintains the script, but any peer can cause it, so at most one line a
        minute, with a count and a short excerpt.
        """
        self._looped += 1
        now = self.clock.seconds()
        if self._loopedAt is not None and now - self._loopedAt < LOG_INTERVAL:
            return
        self._loopedAt, count, self._looped = now, self._looped, 0
        log.warn(
            "doctor: the script looped {count} time(s) since the last such line (latest on "
            "{excerpt!r}); each got a built-in reply",
            count=count,
            excerpt=text[:EXCERPT] + ("..." if len(text) > EXCERPT else ""),
        )
