"""
Telnet hygiene for the conversational services, on Twisted's own parser.

A C{telnet} client mostly sends plain lines, but its keys send commands: Ctrl-C
sends C{IAC IP IAC DO TIMING-MARK}, Ctrl-Z C{IAC SUSP}, Ctrl-\\\\ C{IAC BRK} or
C{IAC ABORT}, each with its own C{DO TIMING-MARK}; and after the C{DO} it
discards everything the server sends until the server answers (RFC 860).
Merely stripping the commands therefore leaves the session looking dead.

L{TelnetFilter} takes the command bytes of a stream to
L{twisted.conch.telnet.Telnet}, which does the option negotiation of RFC 854:
every C{DO} or C{WILL} of an option netlab does not support is refused with
C{WONT} or C{DONT}, refusals of what is already off are not answered (so two
refusing parties never loop), and C{DO TIMING-MARK} is answered with C{WILL
TIMING-MARK} every time it comes (RFC 860: the mark is an event, not a state).
Data between commands is passed on untouched and unparsed, so the framer's
fast path stays fast; C{IAC IAC} is one 0xFF data byte.  Other commands (IP,
AO, AYT, BRK, EC, EL, ...) are reported to the receiver by name.  Since netlab
agrees to no option, a subnegotiation is never legitimate; a stray one (random
bytes) is ended at the next line end rather than swallowing the lines after it,
and its bytes are skipped, not kept: one longer than the receiver's
C{maxLineLength} is reported (C{LONG-SUBNEGOTIATION}) as an over-long line would
be, once.  (Twisted's parser would keep 4,096 bytes, then log a warning and drop
the connection: a log line any peer could cause, as often as it likes.)
"""

from __future__ import annotations

from typing import Protocol

from twisted.conch import telnet

IAC = telnet.IAC
TIMING_MARK = b"\x06"

#: Commands (the byte after IAC) that telnet clients send but Twisted's parser
#: does not know: EOF, SUSP (Ctrl-Z) and ABORT (Ctrl-\\) from RFC 1184.
SUSP = b"\xed"
ABORT = b"\xee"

#: Bytes after IAC that Twisted's parser understands as a command (SE only
#: inside a subnegotiation); anything else would make it raise, so such
#: commands are taken out before it sees them.
_KNOWN = frozenset(b"\xef\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff")

#: The names under which the receiver hears of commands.
_NAMES = {
    telnet.IP: "IP",
    telnet.AO: "AO",
    telnet.AYT: "AYT",
    telnet.BRK: "BRK",
    telnet.EC: "EC",
    telnet.EL: "EL",
    telnet.NOP: "NOP",
    telnet.DM: "DM",
    telnet.GA: "GA",
    telnet.EOR: "EOR",
    SUSP: "SUSP",
    ABORT: "ABORT",
    b"\xec": "EOF",
}


class TelnetReceiver(Protocol):
    """
    What L{TelnetFilter} passes the stream's contents to.
    """

    transport: object
    #: Whether the peer has stopped reading what we send.
    paused: bool

    def telnetDataReceived(self, data: bytes) -> None:
        """
        Data bytes (commands removed, C{IAC IAC} made one 0xFF).
        """

    def telnetCommandReceived(self, name: str) -> None:
        """
        A command such as C{IP} or C{AYT} (see L{_NAMES}); C{?} for unknown ones.
        """


class TelnetFilter(telnet.Telnet):
    """
    Twisted's telnet parser, applied only from the first IAC of a stream on and
    only to command bytes.  Negotiation replies go straight to the receiver's
    transport.
    """

    #: Bytes of the current stray subnegotiation skipped so far, and whether
    #: its length was reported.
    _skipped = 0
    _reported = False

    def __init__(self, receiver: TelnetReceiver) -> None:
        super().__init__()
        self.receiver = receiver
        self.transport = receiver.transport
        for command in _NAMES:
            if command[0] in _KNOWN:
                self.commandMap[command] = self._commandReceiver(command)

    def _commandReceiver(self, command: bytes):
        name = _NAMES[command]
        return lambda argument: self.receiver.telnetCommandReceived(name)

    def feed(self, data: bytes) -> None:
        """
        Take the next bytes of the stream: data goes to the receiver in slices,
        commands through the parser one byte at a time.
        """
        deliver = self.receiver.telnetDataReceived
        start, end = 0, len(data)
        while start < end:
            if self.state == "data":
                iac = data.find(IAC, start)
                if iac < 0:
                    deliver(data[start:])
                    return
                if iac > start:
                    deliver(data[start:iac])
                start = iac
            elif data[start] == 10 and self.state.startswith("subnegotiation"):
                # netlab agrees to no option, so no subnegotiation is legitimate
                # (RFC 855: only for options in effect): a stray one -- random
                # bytes, mostly -- ends at the line end, which stays data.
                self.state = "data"
                self.commands = []
                self._skipped, self._reported = 0, False
                continue
            elif self.state == "subnegotiation" and self.commands and data[start] != IAC[0]:
                # Past the option byte: skip to the next IAC or line end,
                # keeping nothing.
                stops = [at for at in (data.find(IAC, start), data.find(b"\n", start)) if at >= 0]
                stop = min(stops, default=end)
                self._skipped += stop - start
                start = stop
                limit = getattr(self.receiver, "maxLineLength", self._MAX_SUBNEGOTIATION_LENGTH)
                if self._skipped > limit and not self._reported:
                    self._reported = True
                    self.receiver.telnetCommandReceived("LONG-SUBNEGOTIATION")
                continue
            elif self.state == "escaped" and data[start] not in _KNOWN:
                # A command Twisted's parser would raise on (SUSP, ABORT, or
                # garbage): report it ourselves.
                self.state = "data"
                self.receiver.telnetCommandReceived(_NAMES.get(data[start : start + 1], "?"))
                start += 1
                continue
            self.dataReceived(data[start : start + 1])
            start += 1

    def _write(self, data: bytes) -> None:
        """
        Send a negotiation reply -- unless the peer is not reading what we send
        (the receiver is paused): then a peer sending nothing but requests could
        make us buffer one reply per request without bound.
        """
        if not getattr(self.receiver, "paused", False):
            self.transport.write(data)

    def applicationDataReceived(self, data: bytes) -> None:
        """
        The parser's own data: C{IAC IAC}, one 0xFF byte.
        """
        self.receiver.telnetDataReceived(data)

    def telnet_DO(self, option: bytes) -> None:
        """
        Answer C{DO TIMING-MARK} with C{WILL TIMING-MARK} each time (RFC 860);
        any other C{DO} as RFC 854 says (refused: netlab supports no options).
        """
        if option == TIMING_MARK:
            self._will(TIMING_MARK)
        else:
            super().telnet_DO(option)

    def unhandledSubnegotiation(self, command: bytes, data: bytes) -> None:
        """
        Subnegotiations (of options we refused) are ignored.
        """
