"""
Tests for L{netlab.lockstep} and for what the Chat room and the Doctor send
lockstep clients (the course's programs: a bare message, then one
C{recv(1024)}, decoded as ASCII), over in-memory transports and a
L{task.Clock}.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.service import DoctorFactory
from netlab.framing import LINE, LOCKSTEP
from netlab.lockstep import (
    HELD_BYTES,
    HELD_LINES,
    REPLY_LIMIT,
    SHORTENED,
    HeldLines,
    asciiText,
    packLines,
    packWelcome,
)
from netlab.testing import UNLIMITED, FakeChatRoom, FakeClient


def wholeLines(test: SynchronousTestCase, reply: bytes) -> list[str]:
    """
    Check that C{reply} is what a lockstep client can take -- ASCII, at most
    1,024 bytes, no line end at the end -- and return its lines.
    """
    test.assertLessEqual(len(reply), REPLY_LIMIT)
    test.assertFalse(reply.endswith(b"\n"), reply[-50:])
    return reply.decode("ascii").split("\n")


class PackTests(SynchronousTestCase):
    """
    L{packLines}: whole lines, at most 1,024 bytes, newest kept.
    """

    def test_exactlyTheLimit(self) -> None:
        """
        Lines that fill exactly 1,024 bytes (separators included) all go.
        """
        lines = ["a" * 511, "b" * 512]
        reply = packLines(lines)
        self.assertEqual(len(reply), REPLY_LIMIT)
        self.assertEqual(wholeLines(self, reply), lines)

    def test_oneByteOver(self) -> None:
        """
        One byte more and the oldest line is left out, and said to be.
        """
        reply = packLines(["a" * 511, "b" * 513])
        self.assertEqual(wholeLines(self, reply), ["* 1 earlier line not shown", "b" * 513])

    def test_oneLongLine(self) -> None:
        """
        A single line longer than 1,024 bytes is shortened to fit and marked.
        """
        reply = packLines(["x" * 5000])
        self.assertEqual(len(reply), REPLY_LIMIT)
        self.assertTrue(reply.endswith(SHORTENED.encode()))
        self.assertEqual(reply, b"x" * (REPLY_LIMIT - len(SHORTENED)) + SHORTENED.encode())

    def test_longLineAfterOthers(self) -> None:
        """
        A long newest line with older ones: the older ones are counted, the
        newest shortened to fit beside the count.
        """
        lines = wholeLines(self, packLines(["old", "older", "y" * 3000]))
        self.assertEqual(lines[0], "* 2 earlier lines not shown")
        self.assertTrue(lines[1].startswith("yyy") and lines[1].endswith(SHORTENED))

    def test_manyShortLines(self) -> None:
        """
        Many short lines: the newest that fit, whole, in order, after a line
        saying how many earlier ones are not shown.
        """
        lines = [f"<ann> message {n}" for n in range(500)]
        got = wholeLines(self, packLines(lines))
        notice, *kept = got
        self.assertEqual(kept, lines[-len(kept) :])
        self.assertEqual(notice, f"* {500 - len(kept)} earlier lines not shown")
        self.assertGreater(len(packLines(lines + ["<ann> one more line"])), REPLY_LIMIT - 30)

    def test_skippedBefore(self) -> None:
        """
        Lines dropped before (while held) are counted too.
        """
        self.assertEqual(packLines(["hi"], skipped=7), b"* 7 earlier lines not shown\nhi")

    def test_welcome(self) -> None:
        """
        A welcome keeps its head whole and as much history as fits, newest last.
        """
        history = [f"<ann> line {n} " + "x" * 90 for n in range(30)]
        welcome = packWelcome(["Welcome!", "* You are guest-1."], history)
        lines = wholeLines(self, welcome)
        self.assertEqual(lines[:2], ["Welcome!", "* You are guest-1."])
        self.assertEqual(lines[2], f"* {30 - len(lines[3:])} earlier lines not shown")
        self.assertEqual(lines[3:], history[-len(lines[3:]) :])
        self.assertEqual(packWelcome(["Welcome!"], []), b"Welcome!")

    def test_nothing(self) -> None:
        self.assertEqual(packLines([]), b"")

    def test_ascii(self) -> None:
        """
        Accents go (é -> e), everything else non-ASCII becomes C{?}: nothing an
        C{ascii} decoder could choke on.
        """
        self.assertEqual(asciiText("Zoë ﬁnds café ☃ 😀 \ufffd"), "Zoe finds cafe ? ? ?")
        self.assertEqual(packLines(["José: é"]), b"Jose: e")
        self.assertEqual(asciiText("plain"), "plain")


class HeldLinesTests(SynchronousTestCase):
    """
    What waits for a client is bounded.
    """

    def test_boundedLines(self) -> None:
        held = HeldLines()
        for n in range(HELD_LINES + 50):
            held.add(b"line %d" % n)
        self.assertEqual(len(held), HELD_LINES)
        lines, dropped = held.take()
        self.assertEqual(dropped, 50)
        self.assertEqual(lines[-1], f"line {HELD_LINES + 49}")
        self.assertEqual((len(held), held.size, held.dropped), (0, 0, 0))

    def test_boundedBytes(self) -> None:
        held = HeldLines()
        for _ in range(100):
            held.add(b"z" * 1000)
        self.assertLessEqual(held.size, HELD_BYTES)
        self.assertEqual(held.dropped, 100 - len(held))


def bare(client: FakeClient, text: bytes) -> bytes:
    """
    Send a bare message, as the course's client does, and return the reply it
    reads (one C{recv}).
    """
    client.sendBytes(text)
    client.room.clock.advance(client.room.factory.bareDelay)
    return client.read()


class ChatLockstepTests(SynchronousTestCase):
    """
    The Chat room and lockstep clients.
    """

    def setUp(self) -> None:
        self.room = FakeChatRoom(**UNLIMITED)

    def lockstep(self) -> tuple[FakeClient, bytes]:
        """
        A client that says nothing on connecting, and its welcome.
        """
        (client,) = self.room.connect(1, lineMode=False)
        return client, client.read()

    def test_welcomeFits(self) -> None:
        """
        With more than 1,024 bytes of history, some of it not ASCII, the
        welcome is one ASCII write of whole lines, at most 1,024 bytes: the
        greeting, the hint, the history marker and the newest history.
        """
        (ann,) = self.room.connect(1)
        ann.send("/nick Zoë", "/nick zoe")
        for n in range(20):
            ann.send(f"message {n} from zoë, with some padding to make it long enough ☃")
        client, welcome = self.lookAtWelcome()
        lines = wholeLines(self, welcome)
        self.assertEqual(
            lines[:3],
            [
                "Welcome to my chat room!",
                "* You are guest-2. Press Enter to follow the room; /help for the commands.",
                "* last 20 messages:",
            ],
        )
        self.assertRegex(lines[3], r"^\* \d+ earlier lines not shown$")
        self.assertEqual(
            lines[-1], "<zoe> message 19 from zoe, with some padding to make it long enough ?"
        )
        self.assertGreater(len(welcome), REPLY_LIMIT - 100)

    def lookAtWelcome(self) -> tuple[FakeClient, bytes]:
        (client,) = self.room.connect(1, lineMode=False)
        writes = client.transport.value()
        return client, writes

    def test_alone(self) -> None:
        """
        Alone in the room, a lockstep client's message is still answered at once.
        """
        client, _ = self.lockstep()
        self.assertEqual(bare(client, b"Hello, is anyone there?"), b"* nobody else is here yet")
        self.assertEqual(client.protocol.mode, LOCKSTEP)

    def test_noNewMessages(self) -> None:
        (ann,) = self.room.connect(1)
        client, _ = self.lockstep()
        ann.read()
        self.assertEqual(bare(client, b"hi"), b"* (no new messages)")
        self.assertEqual(ann.lines(), ["<guest-2> hi"])

    def test_neverUnasked(self) -> None:
        """
        Room lines for a lockstep client wait for its next message, and come as
        its reply: one write, whole lines separated by newlines, no line end.
        """
        (ann,) = self.room.connect(1)
        client, _ = self.lockstep()
        bare(client, b"hi")
        ann.send("hi course client", "how are you", "/me waves")
        self.assertEqual(client.read(), b"")
        self.room.clock.advance(60)
        self.assertEqual(client.read(), b"")
        writes = []
        client.transport.write = lambda data, write=client.transport.write: (
            writes.append(data),
            write(data),
        )
        reply = bare(client, b"fine")
        self.assertEqual(
            reply, b"<guest-1> hi course client\n<guest-1> how are you\n* <guest-1> waves"
        )
        self.assertEqual(len(writes), 1)

    def test_heldBeforeFirstMessage(self) -> None:
        """
        A client that has said nothing yet may be a lockstep one: room lines
        are held for it too, and come with the reply to its first message.
        """
        (ann,) = self.room.connect(1)
        client, _ = self.lockstep()
        ann.send("welcome!")
        self.assertEqual(client.read(), b"")
        self.assertEqual(bare(client, b"thanks"), b"<guest-1> welcome!")

    def test_lineClientGetsHeldLines(self) -> None:
        """
        One that turns out to be a line client gets the welcome's line end,
        then what was held, in UTF-8, as lines.
        """
        (ann,) = self.room.connect(1)
        client, welcome = self.lockstep()
        ann.send("café ☃")
        client.send("")
        self.assertEqual(client.read(), "\r\n<guest-1> café ☃\r\n".encode())
        ann.send("again")
        self.assertEqual(client.read(), b"<guest-1> again\r\n")
        self.assertEqual(client.protocol.mode, LINE)

    def test_replyExactlyTheLimit(self) -> None:
        """
        Held lines that make exactly 1,024 bytes come whole in one write; one
        byte more and the oldest is counted instead of shown.
        """
        (ann,) = self.room.connect(1)
        client, _ = self.lockstep()
        ann.send("a" * 501, "b" * 502)  # "<guest-1> " + 501, "\n", "<guest-1> " + 502
        reply = bare(client, b"next")
        self.assertEqual(len(reply), REPLY_LIMIT)
        self.assertEqual(
            wholeLines(self, reply), ["<guest-1> " + "a" * 501, "<guest-1> " + "b" * 502]
        )
        ann.send("a" * 501, "b" * 503)
        self.assertEqual(
            wholeLines(self, bare(client, b"next")),
            ["* 1 earlier line not shown", "<guest-1> " + "b" * 503],
        )

    def test_manyHeldLines(self) -> None:
        """
        More than fits: the newest, whole, and how many earlier ones are not
        shown (including those dropped while held); memory stays bounded.
        """
        (ann,) = self.room.connect(1)
        client, _ = self.lockstep()
        for n in range(HELD_LINES * 3):
            ann.send(f"line {n}")
            if n % 100 == 99:
                self.room.flush()  # a new reactor turn: one address's share is per turn
        held = client.protocol._held
        self.assertLessEqual(len(held), HELD_LINES)
        notice, *kept = wholeLines(self, bare(client, b"what did I miss?"))
        self.assertEqual(kept[-1], f"<guest-1> line {HELD_LINES * 3 - 1}")
        self.assertEqual(notice, f"* {HELD_LINES * 3 - len(kept)} earlier lines not shown")

    def test_longLine(self) -> None:
        """
        A room line longer than 1,024 bytes reaches a lockstep client
        shortened and marked, with its own line still answered.
        """
        (ann,) = self.room.connect(1)
        client, _ = self.lockstep()
        ann.send("w" * 3000)
        (line,) = wholeLines(self, bare(client, b"hi"))
        self.assertTrue(line.startswith("<guest-1> www") and line.endswith(SHORTENED))

    def test_nonASCII(self) -> None:
        """
        Non-ASCII text is transliterated for the lockstep client only.
        """
        ann, bob = self.room.connect(2)
        ann.send("/nick jose")
        ann.read()
        bob.read()
        client, _ = self.lockstep()
        ann.send("Ça va? 😀")
        self.assertEqual(bare(client, b"hi"), b"<jose> Ca va? ?")
        self.assertIn("<jose> Ça va? 😀", bob.lines())

    def test_twoLockstepClients(self) -> None:
        """
        Two lockstep clients talking: each reply holds what the other said.
        """
        first, _ = self.lockstep()
        second, _ = self.lockstep()
        self.assertEqual(bare(first, b"hi there"), b"* guest-2 has joined")
        self.assertEqual(bare(second, b"hello"), b"<guest-1> hi there")
        self.assertEqual(bare(first, b"how are you?"), b"<guest-2> hello")
        self.assertEqual(bare(second, b"fine"), b"<guest-1> how are you?")

    def test_commands(self) -> None:
        """
        Command output comes as the reply, with what the room said before it;
        /msg is confirmed to the sender.
        """
        (ann,) = self.room.connect(1)
        client, _ = self.lockstep()
        ann.send("before")
        self.assertEqual(
            wholeLines(self, bare(client, b"/msg guest-1 psst")),
            ["<guest-1> before", "[private to guest-1] psst"],
        )
        self.assertIn("[private] <guest-2> psst", ann.lines())
        self.assertIn("/who", bare(client, b"/help").decode())

    def test_quit(self) -> None:
        (ann,) = self.room.connect(1)
        client, _ = self.lockstep()
        ann.send("bye all")
        self.assertEqual(bare(client, b"/quit"), b"<guest-1> bye all\n* Bye!")
        self.assertTrue(client.closed)

    def test_shutdown(self) -> None:
        client, _ = self.lockstep()
        client.protocol.serverShutdown()
        self.assertEqual(client.read(), b"\n* server shutting down\n")


class DoctorLockstepTests(SynchronousTestCase):
    """
    The Doctor and lockstep clients.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.factory = DoctorFactory(self.clock)
        self.protocol = self.factory.buildProtocol(None)
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def bare(self, text: str) -> bytes:
        self.transport.clear()
        self.protocol.dataReceived(text.encode("utf-8"))
        self.clock.advance(self.factory.bareDelay)
        return self.transport.value()

    def test_greeting(self) -> None:
        greeting = self.protocol.doctor.greeting()
        self.assertEqual(self.transport.value(), greeting.encode("ascii"))

    def test_asciiReplies(self) -> None:
        """
        A reply echoing what the patient said is transliterated.
        """
        reply = self.bare("I am José")
        self.assertEqual(reply, b"How long have you been jose?")

    def test_blankMessage(self) -> None:
        """
        A blank bare message still gets a reply: the client waits for one.
        """
        self.assertTrue(self.bare("   "))

    def test_longReply(self) -> None:
        """
        A reply that would not fit one C{recv(1024)} is shortened and marked.
        """
        reply = self.bare("I remember José and " + "Zoë " * 300)
        self.assertEqual(len(reply), REPLY_LIMIT)
        self.assertTrue(reply.endswith(SHORTENED.encode()))
