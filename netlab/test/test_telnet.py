"""
Tests for L{netlab.telnet} through the framing: every telnet command a client
may send, over a L{StringTransport} and a L{task.Clock}.
"""

from __future__ import annotations

from twisted.conch import telnet
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.service import DoctorFactory
from netlab.framing import LINE, TELNET_COMMANDS_PER_TURN, MessageFactory, MessageReceiver

IAC, DO, DONT, WILL, WONT = telnet.IAC, telnet.DO, telnet.DONT, telnet.WILL, telnet.WONT
SB, SE = telnet.SB, telnet.SE
TM = b"\x06"
ECHO = telnet.ECHO
NAWS = telnet.NAWS
CTRL_C = IAC + telnet.IP + IAC + DO + TM


class Recorder(MessageReceiver):
    """
    Records the messages it receives; answers each with C{ok}.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []

    def messageReceived(self, text: str) -> None:
        self.messages.append(text)
        self.sendMessage("ok")


def connect() -> tuple[Recorder, StringTransport]:
    protocol = Recorder()
    protocol.factory = MessageFactory(Clock())
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


class NegotiationTests(SynchronousTestCase):
    """
    DO/DONT/WILL/WONT are answered as RFC 854 and RFC 860 say.
    """

    def answer(self, *reads: bytes) -> bytes:
        protocol, transport = connect()
        for data in reads:
            protocol.dataReceived(data)
        return transport.value()

    def test_doTimingMark(self) -> None:
        """
        Ctrl-C (IP, DO TIMING-MARK) is answered with WILL TIMING-MARK, so
        telnet stops discarding what we send.
        """
        self.assertEqual(self.answer(CTRL_C), IAC + WILL + TM)

    def test_doTimingMarkEveryTime(self) -> None:
        """
        The mark is an event, not a state: every DO TIMING-MARK is answered.
        """
        self.assertEqual(self.answer(CTRL_C, CTRL_C, IAC + DO + TM), (IAC + WILL + TM) * 3)

    def test_dontTimingMark(self) -> None:
        """
        DONT of an option that is off is not answered (no refusal loops).
        """
        self.assertEqual(self.answer(IAC + DONT + TM), b"")

    def test_willTimingMark(self) -> None:
        """
        We never ask for a mark: an offered one is refused, its WONT not answered.
        """
        self.assertEqual(self.answer(IAC + WILL + TM, IAC + WONT + TM), IAC + DONT + TM)

    def test_wontTimingMark(self) -> None:
        self.assertEqual(self.answer(IAC + WONT + TM), b"")

    def test_doUnsupported(self) -> None:
        """
        DO of an option netlab does not support gets WONT; DONT gets nothing.
        """
        self.assertEqual(self.answer(IAC + DO + ECHO, IAC + DONT + ECHO), IAC + WONT + ECHO)

    def test_willUnsupported(self) -> None:
        """
        WILL of an option netlab does not want gets DONT; the peer's WONT in
        answer is the end of it.
        """
        self.assertEqual(self.answer(IAC + WILL + NAWS, IAC + WONT + NAWS), IAC + DONT + NAWS)

    def test_notReadingNotAnswered(self) -> None:
        """
        While the peer is not reading what we send, its requests get no
        answers: nothing to buffer without bound.
        """
        protocol, transport = connect()
        protocol.pauseProducing()
        protocol.dataReceived((IAC + DO + ECHO) * 1000 + CTRL_C * 1000)
        protocol.factory.clock.advance(0)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(transport.producerState, "paused")  # and it is not read from
        protocol.resumeProducing()
        while protocol._telnetPending:  # what it sent is handled, a turn at a time
            protocol.factory.clock.advance(0)
        transport.clear()
        protocol.dataReceived(CTRL_C)
        self.assertEqual(transport.value(), IAC + WILL + TM)

    def test_splitAcrossReads(self) -> None:
        """
        A command split between reads is still one command.
        """
        self.assertEqual(self.answer(b"hi" + IAC, DO, TM + b"\r\n"), IAC + WILL + TM + b"ok\r\n")


class CommandTests(SynchronousTestCase):
    """
    The other commands, and data around them.
    """

    def test_interruptProcess(self) -> None:
        """
        IP (Ctrl-C) discards the line being typed; the session goes on.
        """
        protocol, transport = connect()
        protocol.dataReceived(b"half a li" + CTRL_C + b"hello\r\n")
        self.assertEqual(protocol.messages, ["hello"])
        self.assertEqual(transport.value(), IAC + WILL + TM + b"ok\r\n")

    def test_break(self) -> None:
        protocol, _ = connect()
        protocol.dataReceived(b"junk" + IAC + telnet.BRK + b"hello\r\n")
        self.assertEqual(protocol.messages, ["hello"])

    def test_suspendAndAbort(self) -> None:
        """
        Ctrl-Z (SUSP) and Ctrl-\\ (ABORT), which Twisted's parser does not
        know, discard the partial line and break nothing.
        """
        protocol, transport = connect()
        protocol.dataReceived(b"a" + IAC + b"\xed" + IAC + DO + TM + b"b" + IAC + b"\xee" + b"c\n")
        self.assertEqual(protocol.messages, ["c"])
        self.assertEqual(transport.value(), IAC + WILL + TM + b"ok\n")

    def test_unknownCommand(self) -> None:
        protocol, _ = connect()
        protocol.dataReceived(b"a" + IAC + b"\x01b\r\n")
        self.assertEqual(protocol.messages, ["ab"])

    def test_abortOutput(self) -> None:
        """
        AO needs nothing from us (there is no long output to abort).
        """
        protocol, transport = connect()
        protocol.dataReceived(b"he" + IAC + telnet.AO + b"llo\r\n")
        self.assertEqual(protocol.messages, ["hello"])
        self.assertEqual(transport.value(), b"ok\r\n")

    def test_areYouThere(self) -> None:
        """
        AYT gets visible evidence that the server is up.
        """
        protocol, transport = connect()
        protocol.dataReceived(IAC + telnet.AYT)
        self.assertEqual(transport.value(), b"* yes, I am here\r\n")
        self.assertEqual(protocol.messages, [])

    def test_eraseCharacter(self) -> None:
        protocol, _ = connect()
        protocol.dataReceived(b"helx" + IAC + telnet.EC + "lo é".encode() + IAC + telnet.EC)
        protocol.dataReceived(b"!\r\n")
        self.assertEqual(protocol.messages, ["hello !"])

    def test_eraseCharacterInvalidUTF8(self) -> None:
        """
        EC after bytes that are not UTF-8 takes one byte and never makes the
        line longer.
        """
        protocol, _ = connect()
        protocol.dataReceived(b"\x80" * 10 + IAC + telnet.EC + IAC + telnet.EC)
        self.assertEqual(protocol._buffer, b"\x80" * 8)
        protocol.dataReceived(IAC + telnet.EC * 1 + b"\n")
        self.assertEqual(protocol.messages, ["\ufffd" * 7])

    def test_eraseLine(self) -> None:
        protocol, _ = connect()
        protocol.dataReceived(b"junk" + IAC + telnet.EL + b"hello\r\n")
        self.assertEqual(protocol.messages, ["hello"])

    def test_noOperations(self) -> None:
        """
        NOP, DM, GA and EOR are ignored.
        """
        protocol, transport = connect()
        commands = (telnet.NOP, telnet.DM, telnet.GA, telnet.EOR)
        protocol.dataReceived(b"".join(b"x" + IAC + command for command in commands) + b"\r\n")
        self.assertEqual(protocol.messages, ["xxxx"])
        self.assertEqual(transport.value(), b"ok\r\n")

    def test_subnegotiation(self) -> None:
        """
        SB ... SE is ignored, also when split across reads; the data around it
        stays.
        """
        protocol, transport = connect()
        protocol.dataReceived(b"a" + IAC + SB + b"\x18\x00xt")
        protocol.dataReceived(b"erm" + IAC + SE + b"b\r\n")
        self.assertEqual(protocol.messages, ["ab"])
        self.assertEqual(transport.value(), b"ok\r\n")

    def test_straySubnegotiationEndsAtLineEnd(self) -> None:
        """
        netlab agrees to no option, so an unterminated subnegotiation (random
        bytes) ends at the line end instead of swallowing the lines after it.
        """
        protocol, _ = connect()
        protocol.dataReceived(b"a" + IAC + SB + b"garbage\nhello\r\n")
        self.assertEqual(protocol.messages, ["a", "hello"])

    def test_endlessSubnegotiation(self) -> None:
        """
        A subnegotiation that never ends (10 MiB, no line end, no IAC SE) is
        refused once, as an over-long line is; none of it is kept, and the
        connection goes on after the next line end.
        """
        protocol, transport = connect()
        protocol.dataReceived(b"hi" + IAC + SB + b"\x18")
        for _ in range(160):
            protocol.dataReceived(b"x" * 65536)
        self.assertEqual(transport.value(), b"ERR line too long (max 4096 bytes)\r\n")
        self.assertFalse(transport.disconnecting)
        self.assertLess(len(protocol._telnet.commands), 2)
        protocol.dataReceived(b"\r\nstill here\r\n")
        self.assertEqual(protocol.messages, ["hi", "still here"])

    def test_escapedIAC(self) -> None:
        """
        IAC IAC is one 0xFF data byte (not valid UTF-8, so U+FFFD), not a command.
        """
        protocol, transport = connect()
        protocol.dataReceived(b"a" + IAC + IAC + b"b" + IAC)
        protocol.dataReceived(IAC + b"c\r\n")
        self.assertEqual(protocol.messages, ["a\ufffdb\ufffdc"])
        self.assertEqual(transport.value(), b"ok\r\n")

    def test_plainClientNeverParsed(self) -> None:
        """
        A client that never sent IAC never meets the telnet parser (the hot path).
        """
        protocol, _ = connect()
        protocol.dataReceived(b"hello\r\nagain\n")
        self.assertIsNone(protocol._telnet)

    def test_telnetIsLineClient(self) -> None:
        """
        A client sending telnet commands is a line client at once: the Doctor's
        greeting gets its line end (CR LF) before the answer to the command.
        """
        factory = DoctorFactory(Clock())
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(CTRL_C)
        self.assertEqual(protocol.mode, LINE)
        greeting = protocol.doctor.greeting().encode()
        self.assertEqual(transport.value(), greeting + b"\r\n" + IAC + WILL + TM)
        transport.clear()
        protocol.dataReceived(b"I feel sad\r\n")
        self.assertTrue(transport.value().endswith(b".\r\n"), transport.value())


class CommandFloodTests(SynchronousTestCase):
    """
    Telnet commands are parsed a byte at a time, so a connection may have at
    most C{TELNET_COMMANDS_PER_TURN} parsed per reactor turn: the rest waits,
    in order, and nothing is lost.
    """

    def test_floodWaitsItsTurn(self) -> None:
        protocol, transport = connect()
        clock = protocol.factory.clock
        flood = (IAC + telnet.DO + b"\x06") * 1000 + b"after\r\n"
        protocol.dataReceived(flood)
        self.assertEqual(transport.producerState, "paused")
        self.assertEqual(protocol.messages, [])
        answer = IAC + telnet.WILL + b"\x06"
        self.assertEqual(transport.value().count(answer), TELNET_COMMANDS_PER_TURN)
        clock.advance(0)  # (a Clock runs the following turns' calls at once)
        self.assertEqual(transport.value().count(answer), 1000)
        self.assertEqual(protocol.messages, ["after"])
        self.assertEqual(transport.producerState, "producing")
