"""
Fault scenario 1 of issue 6 at the protocol level: random and hostile bytes fed
to the shared framing, the Doctor and the Chat room over L{StringTransport}s and
a L{task.Clock}, with C{hypothesis} choosing the bytes, how they are split into
reads, when time passes and when a client stops reading.

The bytes are drawn from what a classroom actually sends by mistake or on
purpose: invalid UTF-8, NUL, lone C{\\r}, ANSI/ECMA-48 escapes (7- and 8-bit),
telnet IAC sequences, over-long lines -- mixed with arbitrary binary.

Properties, for every input:
  - no protocol method raises;
  - everything sent to any client is valid UTF-8;
  - nothing a client sends puts a C0/C1 control character or ESC into what
    I{other} chat clients receive (only the line terminator);
  - the framing's buffer never holds more than C{maxLineLength} bytes while the
    protocol is reading, and no message is longer than that.

The hostile pieces are in L{netlab.test.nasty}.  Without C{hypothesis} (a
plain install) these tests skip, saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from netlab import testing
from netlab.chat import ChatFactory
from netlab.doctor.service import DoctorFactory
from netlab.framing import MessageFactory, MessageReceiver
from netlab.ratelimit import Rate
from netlab.test.extras import given
from netlab.test.extras import strategies as st
from netlab.test.nasty import CONTROLS, NASTY, TELNET_REPLY

#: The line limit in these tests: small, so that over-long lines are common.
MAX_LINE = 64

#: How many inputs each property is tried with: fixed, so the run time is too.
EXAMPLES = 300



def chunks():
    """
    What arrives in one read: pieces of L{NASTY} and random bytes.
    """
    pieces = st.one_of(st.sampled_from(NASTY), st.binary(max_size=24))
    return st.lists(pieces, min_size=1, max_size=10).map(b"".join)


def steps():
    """
    A client's life: bytes arrive, time passes, the client reads (or stops
    reading) what the server sent.
    """
    return st.lists(
        st.one_of(
            st.tuples(st.just("data"), chunks()),
            st.tuples(st.just("advance"), st.sampled_from([0.0, 0.05, 0.11, 1.0, 5.0])),
            st.tuples(st.just("read"), st.booleans()),
        ),
        min_size=1,
        max_size=30,
    )


def booleans():
    """
    True or false.
    """
    return st.booleans()


def fuzz(*strategies: Callable) -> Callable:
    """
    Run the decorated test as a hypothesis property, L{EXAMPLES} times (see
    L{netlab.test.extras.given}: it skips without hypothesis).
    """
    return given(*strategies, examples=EXAMPLES)


class ClientTransport(testing.ClientTransport):
    """
    L{netlab.testing.ClientTransport} (pauses its producer like TCP while
    written bytes are unread) with a small buffer, so that a client that does
    not read soon becomes a slow consumer, and a record of all it was sent.
    """

    bufferSize = 4096
    received = b""

    def read(self) -> bytes:
        data = super().read()
        self.received += data
        return data

    @property
    def everything(self) -> bytes:
        """
        All the server ever wrote to this client.
        """
        return self.received + self.value()


def connect(factory, port: int):
    """
    A protocol from C{factory}, connected to a fresh L{ClientTransport}.
    """
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.2", port))
    transport = ClientTransport(peerAddress=IPv4Address("TCP", "127.0.0.2", port))
    protocol.makeConnection(transport)
    return protocol, transport


def run(test, protocol, transport, clock, actions) -> None:
    """
    Play C{actions} against one connection, checking the framing's invariants
    after each step.  Like a real transport, this delivers nothing while the
    protocol has paused reading or is closing.
    """
    reading = True
    for action, value in actions:
        if action == "data":
            if transport.disconnecting or transport.producerState == "paused":
                continue
            protocol.dataReceived(value)
            if not protocol.paused and not transport.disconnecting:
                test.assertLessEqual(len(protocol._buffer), protocol.maxLineLength)
        elif action == "advance":
            clock.advance(value)
        elif action == "read":
            reading = value
        if reading:
            transport.read()


def assertUTF8(test, data: bytes) -> str:
    try:
        return TELNET_REPLY.sub(b"", data).decode("utf-8")
    except UnicodeDecodeError as e:
        test.fail(f"invalid UTF-8 sent: {e}: {data!r}")


class Recorder(MessageReceiver):
    """
    A framing client that remembers its messages and answers each with its length.
    """

    def connectionMade(self) -> None:
        super().connectionMade()
        self.messages: list[str] = []

    def messageReceived(self, text: str) -> None:
        self.messages.append(text)
        self.sendMessage(str(len(text)))


class FramingFuzzTests(SynchronousTestCase):
    @fuzz(steps)
    def test_framing(self, actions):
        """
        The framing never raises, never keeps more than a line's worth, and
        hands on only messages within the limit.
        """
        clock = Clock()
        factory = MessageFactory(clock, maxLineLength=MAX_LINE, idleTimeout=30)
        factory.protocol = Recorder
        protocol, transport = connect(factory, 1)
        run(self, protocol, transport, clock, actions)
        clock.advance(60)
        protocol.readConnectionLost()
        protocol.connectionLost(None)
        for message in protocol.messages:
            self.assertLessEqual(len(message), MAX_LINE)
            self.assertNotIn("\n", message)
        assertUTF8(self, transport.everything)


class DoctorFuzzTests(SynchronousTestCase):
    @fuzz(steps)
    def test_doctor(self, actions):
        """
        The Doctor never raises and answers in valid UTF-8 without control
        characters, whatever it is told.
        """
        clock = Clock()
        factory = DoctorFactory(clock, maxLineLength=MAX_LINE, idleTimeout=30)
        protocol, transport = connect(factory, 1)
        run(self, protocol, transport, clock, actions)
        clock.advance(60)
        protocol.connectionLost(None)
        text = assertUTF8(self, transport.everything)
        for line in re.split(r"\r?\n", text):
            self.assertIsNone(CONTROLS.search(line), repr(line))


class ChatFuzzTests(SynchronousTestCase):
    @fuzz(steps, booleans)
    def test_chat(self, actions, limited):
        """
        Whatever one chat client sends, the others receive only clean lines of
        valid UTF-8 (C{\\r\\n}-terminated, no controls, no escapes), and nothing
        raises.  With and without the flood limit.
        """
        clock = Clock()
        rate = Rate(5, 20) if limited else None
        factory = ChatFactory(clock, maxLineLength=MAX_LINE, idleTimeout=30, rate=rate)
        attacker, attackerTransport = connect(factory, 1)
        others = [connect(factory, port) for port in (2, 3)]
        for other, _ in others:
            other.dataReceived(b"\r\n")  # line clients: they get room lines as they come
        run(self, attacker, attackerTransport, clock, actions)
        clock.advance(0)
        attacker.connectionLost(None)
        clock.advance(0)
        assertUTF8(self, attackerTransport.everything)
        for _, transport in others:
            while transport.read():  # take everything, resuming a paused room
                clock.advance(0)
            text = assertUTF8(self, transport.everything)
            self.assertTrue(text.endswith("\r\n"), repr(text))
            # (The welcome, sent before a client shows its line ends, uses \n.)
            for line in re.split(r"\r?\n", text[:-2]):
                self.assertIsNone(CONTROLS.search(line), repr(line))
            self.assertRegex(text, r"\* \S+ has left")
