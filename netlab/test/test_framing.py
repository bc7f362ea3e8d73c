"""
Edge cases of L{netlab.framing}: how bytes become messages for every kind of
client, and how replies are ended.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netlab.fairness import TURN_MESSAGES, TurnBudget
from netlab.framing import READ_AHEAD, MessageReceiver


class Recorder(MessageReceiver):
    """
    Records the messages it receives; answers each with C{ok}.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.finished = False

    def messageReceived(self, text: str) -> None:
        self.messages.append(text)
        self.sendMessage("ok")

    def peerFinished(self) -> None:
        self.finished = True
        super().peerFinished()


class Factory:
    """
    What the framing reads from its factory.
    """

    def __init__(self, **options) -> None:
        self.clock = Clock()
        self.turnBudget = TurnBudget(self.clock)
        self.__dict__.update(options)


def connect(**options) -> tuple[Recorder, StringTransport, Clock]:
    factory = Factory(**options)
    protocol = Recorder()
    protocol.factory = factory
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport, factory.clock


class LineTests(SynchronousTestCase):
    """
    Lines end at C{\\n} or C{\\r\\n}, however they are split across reads.
    """

    def test_bothTerminators(self) -> None:
        protocol, transport, _ = connect()
        protocol.dataReceived(b"one\ntwo\r\nthree\n")
        self.assertEqual(protocol.messages, ["one", "two", "three"])

    def test_splitCRLF(self) -> None:
        """
        A C{\\r\\n} split between two reads is one terminator, and the reply
        uses it.
        """
        protocol, transport, _ = connect()
        protocol.dataReceived(b"hel")
        protocol.dataReceived(b"lo\r")
        self.assertEqual(protocol.messages, [])
        protocol.dataReceived(b"\nnext")
        self.assertEqual(protocol.messages, ["hello"])
        self.assertEqual(transport.value(), b"ok\r\n")

    def test_replyTerminator(self) -> None:
        """
        Replies end the way the peer ends its lines.
        """
        protocol, transport, _ = connect()
        protocol.dataReceived(b"nc style\n")
        self.assertEqual(transport.value(), b"ok\n")

    def test_byteAtATime(self) -> None:
        protocol, _, clock = connect()
        for byte in b"first\r\nsecond\n":
            protocol.dataReceived(bytes([byte]))
        self.assertEqual(protocol.messages, ["first", "second"])

    def test_partialLineNeverSplit(self) -> None:
        """
        Once a client has sent a terminator, an unterminated rest waits for its
        end however long it takes.
        """
        protocol, _, clock = connect()
        protocol.dataReceived(b"line\npart")
        clock.advance(60)
        protocol.dataReceived(b"ial\n")
        self.assertEqual(protocol.messages, ["line", "partial"])

    def test_emptyLines(self) -> None:
        protocol, _, _ = connect()
        protocol.dataReceived(b"\n\r\n")
        self.assertEqual(protocol.messages, ["", ""])


class BareTests(SynchronousTestCase):
    """
    Course-style clients: a message with no terminator, then recv().
    """

    def test_flushedAfterDelay(self) -> None:
        protocol, transport, clock = connect(bareDelay=0.1)
        protocol.dataReceived(b"hello")
        clock.advance(0.05)
        self.assertEqual(protocol.messages, [])
        clock.advance(0.05)
        self.assertEqual(protocol.messages, ["hello"])
        self.assertEqual(transport.value(), b"ok")

    def test_delayRestartsOnData(self) -> None:
        """
        A bare message arriving in pieces is one message.
        """
        protocol, _, clock = connect(bareDelay=0.1)
        protocol.dataReceived(b"hel")
        clock.advance(0.05)
        protocol.dataReceived(b"lo")
        clock.advance(0.05)
        self.assertEqual(protocol.messages, [])
        clock.advance(0.05)
        self.assertEqual(protocol.messages, ["hello"])

    def test_mixedModes(self) -> None:
        """
        A bare client that later sends a terminator becomes a line client:
        replies get terminators (the unterminated bare reply is ended first, so
        the two do not run together) and partial lines are no longer flushed.
        """
        protocol, transport, clock = connect(bareDelay=0.1)
        protocol.dataReceived(b"bare")
        clock.advance(0.1)
        protocol.dataReceived(b"line\r\n")
        protocol.dataReceived(b"partial")
        clock.advance(1)
        self.assertEqual(protocol.messages, ["bare", "line"])
        self.assertEqual(transport.value(), b"ok\r\nok\r\n")


class LimitTests(SynchronousTestCase):
    """
    Over-long lines are refused; the connection stays usable.
    """

    def test_overLongThenGood(self) -> None:
        protocol, transport, _ = connect(maxLineLength=8)
        protocol.dataReceived(b"123456789\r\nfine\r\n")
        self.assertEqual(protocol.messages, ["fine"])
        self.assertEqual(transport.value(), b"ERR line too long (max 8 bytes)\r\nok\r\n")

    def test_overLongAcrossReads(self) -> None:
        """
        A line that grows too long unterminated is refused once, the rest of it
        discarded up to its end.
        """
        protocol, transport, _ = connect(maxLineLength=8)
        protocol.dataReceived(b"x" * 9)
        protocol.dataReceived(b"y" * 100)
        protocol.dataReceived(b"zz\nfine\n")
        self.assertEqual(protocol.messages, ["fine"])
        self.assertEqual(transport.value().count(b"ERR line too long"), 1)

    def test_overLongBareMessage(self) -> None:
        """
        A course client's bare message over the limit, in pieces, ends when
        the client pauses, as any bare message: the refusal is its answer,
        and its next bare message is answered as usual.
        """
        protocol, transport, clock = connect(maxLineLength=8, bareDelay=0.1)
        protocol.dataReceived(b"x" * 9)
        protocol.dataReceived(b"y" * 100)
        self.assertEqual(transport.value(), b"")
        clock.advance(0.1)
        self.assertEqual(transport.value(), b"ERR line too long (max 8 bytes)")
        transport.clear()
        protocol.dataReceived(b"again")
        clock.advance(0.1)
        self.assertEqual(protocol.messages, ["again"])
        self.assertEqual(transport.value(), b"ok")

    def test_overLongFirstLine(self) -> None:
        """
        A first line over the limit that does end in a terminator is a line
        client's: refused with a line of its own when its end comes.
        """
        protocol, transport, clock = connect(maxLineLength=8, bareDelay=0.1)
        protocol.dataReceived(b"x" * 70_000)
        protocol.dataReceived(b"x\r\nfine\r\n")
        clock.advance(0.1)
        self.assertEqual(protocol.messages, ["fine"])
        self.assertEqual(transport.value(), b"ERR line too long (max 8 bytes)\r\nok\r\n")

    def test_exactLimit(self) -> None:
        protocol, _, _ = connect(maxLineLength=8)
        protocol.dataReceived(b"12345678\r\n")
        self.assertEqual(protocol.messages, ["12345678"])


class FlowTests(SynchronousTestCase):
    """
    Back-pressure and the end of the stream.
    """

    def test_pauseHoldsLines(self) -> None:
        """
        While paused, received lines wait; on resume they are handled in order.
        """
        protocol, transport, _ = connect()
        protocol.dataReceived(b"one\n")
        protocol.pauseProducing()
        protocol.dataReceived(b"two\nthree\n")
        self.assertEqual(protocol.messages, ["one"])
        protocol.resumeProducing()
        self.assertEqual(protocol.messages, ["one", "two", "three"])
        self.assertEqual(transport.producerState, "producing")

    def test_pauseStopsReadingPastReadAhead(self) -> None:
        """
        While paused, the peer is read from until it has sent L{READ_AHEAD}
        bytes more; then reading stops until the peer catches up.  (Not at once:
        a TLS transport pauses its protocol during the handshake, and the
        handshake needs reading to go on.)
        """
        protocol, transport, clock = connect()
        protocol.pauseProducing()
        protocol.dataReceived(b"x\n" * (READ_AHEAD // 2))
        self.assertEqual(transport.producerState, "producing")
        protocol.dataReceived(b"x\n")
        self.assertEqual(transport.producerState, "paused")
        self.assertEqual(protocol.messages, [])
        protocol.resumeProducing()
        self.assertEqual(len(protocol.messages), TURN_MESSAGES)
        clock.advance(0)
        self.assertEqual(len(protocol.messages), READ_AHEAD // 2 + 1)
        self.assertEqual(transport.producerState, "producing")

    def test_pauseDuringLines(self) -> None:
        """
        A pause caused by handling one line holds back the lines after it.
        """
        protocol, _, _ = connect()
        original = protocol.messageReceived

        def pausing(text: str) -> None:
            original(text)
            if text == "one":
                protocol.pauseProducing()

        protocol.messageReceived = pausing  # type: ignore[method-assign]
        protocol.dataReceived(b"one\ntwo\n")
        self.assertEqual(protocol.messages, ["one"])
        protocol.resumeProducing()
        self.assertEqual(protocol.messages, ["one", "two"])

    def test_halfCloseLastLine(self) -> None:
        """
        End of stream delivers an unterminated last line, then finishes.
        """
        protocol, transport, _ = connect()
        protocol.dataReceived(b"one\nlast")
        protocol.readConnectionLost()
        self.assertEqual(protocol.messages, ["one", "last"])
        self.assertTrue(protocol.finished)
        self.assertTrue(transport.disconnecting)

    def test_halfCloseWhilePaused(self) -> None:
        """
        End of stream while paused waits for the resume.
        """
        protocol, _, _ = connect()
        protocol.pauseProducing()
        protocol.dataReceived(b"held\n")
        protocol.readConnectionLost()
        self.assertFalse(protocol.finished)
        protocol.resumeProducing()
        self.assertEqual(protocol.messages, ["held"])
        self.assertTrue(protocol.finished)

    def test_idleTimeout(self) -> None:
        protocol, transport, clock = connect(idleTimeout=10)
        clock.advance(9)
        protocol.dataReceived(b"x\n")
        clock.advance(9)
        self.assertFalse(transport.disconnecting)
        clock.advance(1)
        self.assertTrue(transport.value().endswith(b"ERR idle timeout\n"))
        self.assertTrue(transport.disconnecting)


class TelnetInLineTests(SynchronousTestCase):
    """
    Telnet commands within a line.  (Decoding and scrubbing themselves are
    L{netlab.test.test_text}'s.)
    """

    def test_telnetInLine(self) -> None:
        """
        Telnet commands inside a line are not part of it.  (IP -- Ctrl-C --
        drops the line typed so far: see L{netlab.test.test_telnet}.)
        """
        protocol, _, _ = connect()
        protocol.dataReceived(b"hi\xff\xf1\xff\xfd\x06 there\r\n")
        self.assertEqual(protocol.messages, ["hi there"])


class TurnTests(SynchronousTestCase):
    """
    One connection handles at most L{TURN_MESSAGES} messages per reactor turn,
    so a client piping a file cannot keep everyone else waiting.
    """

    def test_restWaitsForNextTurn(self) -> None:
        protocol, transport, clock = connect()
        protocol.dataReceived(b"".join(b"%d\n" % n for n in range(TURN_MESSAGES * 2 + 10)))
        self.assertEqual(len(protocol.messages), TURN_MESSAGES)
        self.assertEqual(transport.producerState, "paused")
        # The next turn for this connection, and for the budget of its address.
        self.assertEqual([call.getTime() for call in clock.getDelayedCalls()], [0, 0])
        clock.advance(0)  # (a Clock runs the turns it schedules at once)
        self.assertEqual(protocol.messages, [str(n) for n in range(TURN_MESSAGES * 2 + 10)])
        self.assertEqual(transport.producerState, "producing")
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_oneSharePerAddress(self) -> None:
        """
        The share is one address's, over all its connections: 64 connections
        from one address once got 64 shares and stalled everyone else.
        """
        factory = Factory()
        clock = factory.clock

        def connectFrom(host):
            protocol = Recorder()
            protocol.factory = factory
            transport = StringTransport(peerAddress=IPv4Address("TCP", host, 40000))
            protocol.makeConnection(transport)
            return protocol

        greedy = [connectFrom("10.0.0.1") for _ in range(4)]
        honest = connectFrom("10.0.0.2")
        for protocol in greedy:
            protocol.dataReceived(b"x\n" * 200)
        honest.dataReceived(b"y\n" * 200)
        self.assertEqual(sum(len(p.messages) for p in greedy), TURN_MESSAGES)
        self.assertEqual(len(honest.messages), 200)
        clock.advance(0)
        clock.advance(0)
        clock.advance(0)
        self.assertEqual(sum(len(p.messages) for p in greedy), 800)

    def test_arrivalsQueueBehind(self) -> None:
        """
        Data that arrives while messages are held back is handled after them.
        """
        protocol, _, clock = connect()
        protocol.dataReceived(b"a\n" * (TURN_MESSAGES + 1))
        protocol.dataReceived(b"b\n")
        self.assertEqual(len(protocol.messages), TURN_MESSAGES)
        clock.advance(0)
        self.assertEqual(protocol.messages[-2:], ["a", "b"])

    def test_endOfStreamWaits(self) -> None:
        """
        A peer that half-closes after a burst gets every reply before the
        connection is finished.
        """
        protocol, transport, clock = connect()
        protocol.dataReceived(b"x\n" * (TURN_MESSAGES + 5) + b"last")
        protocol.readConnectionLost()
        self.assertFalse(protocol.finished)
        clock.advance(0)
        self.assertEqual(len(protocol.messages), TURN_MESSAGES + 6)
        self.assertEqual(protocol.messages[-1], "last")
        self.assertTrue(protocol.finished)
        self.assertTrue(transport.disconnecting)

    def test_backPressureAndTurn(self) -> None:
        """
        When the peer also stops reading, held messages wait for both: the next
        turn and the peer catching up.
        """
        protocol, _, clock = connect()
        protocol.dataReceived(b"x\n" * (TURN_MESSAGES + 5))
        protocol.pauseProducing()
        clock.advance(0)
        self.assertEqual(len(protocol.messages), TURN_MESSAGES)
        protocol.resumeProducing()
        self.assertEqual(len(protocol.messages), TURN_MESSAGES + 5)
