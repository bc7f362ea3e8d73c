"""
Tests for L{netlab.chat}: the room, its commands and its limits, over in-memory
transports and a L{task.Clock} (see L{netlab.testing}).
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from netlab.chat import (
    ANNOUNCE_LIMIT,
    DROP_GRACE,
    GREETING,
    HINT,
    WELCOME_WAIT,
    WHO_LIMIT,
    ChatFactory,
    IChatMember,
    IChatRoom,
    OperatorFactory,
    nameKey,
)
from netlab.chat import protocol as member
from netlab.framing import BARE_DELAY, MAX_LINE
from netlab.guard import GuardFactory
from netlab.ratelimit import Rate
from netlab.tap import Options, serviceFactory
from netlab.testing import UNLIMITED, ClientTransport, FakeChatRoom, FakeClient


def chatter(room: FakeChatRoom, count: int) -> list[FakeClient]:
    """
    C{count} connected clients whose greetings have been read.
    """
    clients = room.connect(count)
    for client in clients:
        client.read()
    return clients


class JoiningTests(SynchronousTestCase):
    """
    Arriving: greeting, hint, unique names, history, announcements.
    """

    def test_lineClientGetsFullUTF8Welcome(self) -> None:
        """
        A client that says it is a line client before its welcome goes out
        (the netlab client sends an empty line on connecting) gets the whole
        history in UTF-8; one that says nothing gets the lockstep form (ASCII,
        at most 1,024 bytes), as it might be the lecture's client.
        """
        room = FakeChatRoom(rate=None)
        (ann,) = room.connect(1)
        ann.send("/nick ann")
        for n in range(20):
            ann.send(f"caf\u00e9 cr\u00e8me \U0001f600 \u4e2d\u6587 number {n} " + "x" * 40)
        room.flush()
        (netlab,) = room.connect(1)
        room.flush()
        lines = netlab.lines()
        self.assertIn("* last 20 messages:", lines)
        history = [line for line in lines if line.startswith("<ann>")]
        self.assertEqual(len(history), 20)
        self.assertIn("\U0001f600 \u4e2d\u6587 number 0", history[0])
        (lecture,) = room.connect(1, lineMode=False)
        welcome = lecture.read()
        self.assertLessEqual(len(welcome), 1024)
        welcome.decode("ascii")
        self.assertIn(b"earlier lines not shown", welcome)

    def test_noLineTwiceWhileTheWelcomeWaits(self) -> None:
        """
        What is said while a newcomer's welcome waits (it may be a lockstep
        client) reaches it once: after its history, not also in it.
        """
        room = FakeChatRoom(**UNLIMITED)
        (ann,) = chatter(room, 1)
        ann.send("before")
        room.flush()
        protocol = room.factory.buildProtocol(IPv4Address("TCP", "127.0.0.9", 4000))
        newcomer = FakeClient(room, protocol, ClientTransport())
        room.clients.append(newcomer)
        protocol.makeConnection(newcomer.transport)
        ann.send("during")
        room.flush()
        room.clock.advance(WELCOME_WAIT)
        newcomer.sendBytes(b"\n")  # a line client after all
        room.flush()
        said = [line for line in newcomer.lines() if line.startswith("<")]
        self.assertEqual([line.split("> ")[1] for line in said], ["before", "during"])

    def test_greeting(self) -> None:
        """
        A newcomer gets the course's greeting, then a hint naming it and /help,
        in one write with no final line end (the course's client prints it as
        the lecture shows); a line client gets that line end as soon as it
        shows it is one.
        """
        room = FakeChatRoom()
        (alice,) = room.connect(1, lineMode=False)
        welcome = GREETING.encode() + f"\n* You are guest-1. {HINT}".encode()
        self.assertEqual(alice.transport.value(), welcome)
        alice.sendBytes(b"\r\n")
        self.assertEqual(alice.read(), welcome + b"\r\n")

    def test_uniqueGuestNames(self) -> None:
        """
        Every newcomer gets a guest name no one else has, even if the operator
        took the next one by /nick.
        """
        room = FakeChatRoom(rate=None)
        (first,) = room.connect(1, factory=OperatorFactory(room.factory))
        first.send("/nick guest-2")
        names = [client.name for client in room.connect(3)]
        self.assertEqual(names, ["guest-1", "guest-3", "guest-4"])

    def test_joinAnnounced(self) -> None:
        """
        The others are told who joined; the newcomer is not told about itself.
        """
        room = FakeChatRoom()
        (alice,) = chatter(room, 1)
        (bob,) = room.connect(1)
        self.assertEqual(alice.lines(), ["* guest-2 has joined"])
        self.assertNotIn("* guest-2 has joined", bob.lines())

    def test_history(self) -> None:
        """
        A newcomer gets the last C{history} room messages, oldest first, marked
        as history.
        """
        room = FakeChatRoom(history=2, rate=None)
        (alice,) = chatter(room, 1)
        alice.send("one", "two", "/me three")
        (bob,) = room.connect(1)
        self.assertEqual(
            bob.lines()[2:], ["* last 2 messages:", "<guest-1> two", "* <guest-1> three"]
        )

    def test_historyOff(self) -> None:
        """
        C{history=0} replays nothing.
        """
        room = FakeChatRoom(history=0)
        (alice,) = chatter(room, 1)
        alice.send("one")
        (bob,) = room.connect(1)
        self.assertEqual(len(bob.lines()), 2)

    def test_historyNotAnnouncements(self) -> None:
        """
        Joins, leaves and renames are not replayed, nor are private messages.
        """
        room = FakeChatRoom(rate=None)
        alice, bob = chatter(room, 2)
        alice.send("/nick alice", "/msg guest-2 psst")
        bob.disconnect()
        (carol,) = room.connect(1)
        self.assertEqual(len(carol.lines()), 2)

    def test_announceLimit(self) -> None:
        """
        In a room over C{announceLimit}, joins and leaves are not announced
        (that would cost O(N^2) lines) but messages still are.
        """
        room = FakeChatRoom(announceLimit=2)
        alice, bob = chatter(room, 2)
        (carol,) = room.connect(1)
        carol.disconnect()
        bob.send("hi")
        self.assertEqual(alice.lines(), ["<guest-2> hi"])

    def test_announceLimitDefault(self) -> None:
        """
        By default rooms of a few hundred still announce.
        """
        self.assertGreaterEqual(ANNOUNCE_LIMIT, 100)


class RelayTests(SynchronousTestCase):
    """
    Messages reach every other client exactly once, in order, scrubbed.
    """

    def test_relay(self) -> None:
        """
        A line is relayed to every other client as C{<NAME> text}; the sender
        gets no echo.
        """
        room = FakeChatRoom()
        alice, bob, carol = chatter(room, 3)
        alice.send("hello")
        self.assertEqual(bob.lines(), ["<guest-1> hello"])
        self.assertEqual(carol.lines(), ["<guest-1> hello"])
        self.assertEqual(alice.lines(), [])

    def test_order(self) -> None:
        """
        Lines from several senders arrive everywhere in the order the server
        accepted them.
        """
        room = FakeChatRoom(rate=None)
        alice, bob, carol = chatter(room, 3)
        for number in range(50):
            (alice if number % 2 else bob).send(f"m{number}")
        expected = [f"<guest-{1 if n % 2 else 2}> m{n}" for n in range(50)]
        self.assertEqual(carol.lines(), expected)

    def test_scrubbed(self) -> None:
        """
        Control characters and escape sequences never reach the others.
        """
        room = FakeChatRoom()
        alice, bob = chatter(room, 2)
        alice.send("\x1b[2Jred \x1b[31mtext\x07\tend")
        self.assertEqual(bob.lines(), ["<guest-1> red text end"])

    def test_onlyControls(self) -> None:
        """
        A line that is nothing but control characters relays nothing.
        """
        room = FakeChatRoom()
        alice, bob = chatter(room, 2)
        alice.send("\x1b[2J\x07")
        self.assertEqual(bob.lines(), [])

    def test_blankIgnored(self) -> None:
        """
        Blank lines are not relayed -- but they count towards the sender's
        rate like any other line: a flood of them costs as much work.
        """
        room = FakeChatRoom(rate=Rate(1.0, 3))
        alice, bob = chatter(room, 2)
        room.clock.advance(3)
        alice.send("", "   ", "hi")
        self.assertEqual(bob.lines(), ["<guest-1> hi"])
        self.assertEqual(alice.lines(), [])
        alice.send("", "again")
        self.assertEqual(bob.lines(), [])
        room.clock.advance(2)
        self.assertEqual(bob.lines(), ["<guest-1> again"])

    def test_slashSlash(self) -> None:
        """
        C{//text} says C{/text}.
        """
        room = FakeChatRoom()
        alice, bob = chatter(room, 2)
        alice.send("//etc/passwd")
        self.assertEqual(bob.lines(), ["<guest-1> /etc/passwd"])

    def test_oneWritePerTurn(self) -> None:
        """
        However many lines a client gets in one reactor turn, they are written to
        its transport at once.
        """
        room = FakeChatRoom(rate=None)
        alice, bob, carol = chatter(room, 3)
        writes: list[bytes] = []
        carol.transport.write = writes.append  # type: ignore[method-assign]
        alice.send("one", "two")
        bob.send("three")
        room.flush()
        self.assertEqual(writes, [b"<guest-1> one\r\n<guest-1> two\r\n<guest-2> three\r\n"])

    def test_terminatorPerClient(self) -> None:
        """
        Each client gets lines ended the way it ends its own; a bare client gets
        none, and gets room lines only as the reply to its next message.
        """
        room = FakeChatRoom()
        alice, nc = chatter(room, 2)
        (bare,) = room.connect(1, lineMode=False)
        bare.read()
        nc.send("/who", end="\n")
        nc.read()
        bare.sendBytes(b"hello")
        room.clock.advance(room.factory.bareDelay)
        self.assertEqual(bare.read(), b"* (no new messages)")
        alice.send("hi")
        self.assertEqual(nc.read(), b"<guest-3> hello\n<guest-1> hi\n")
        self.assertEqual(bare.read(), b"")
        bare.sendBytes(b"again")
        room.clock.advance(room.factory.bareDelay)
        self.assertEqual(bare.read(), b"<guest-1> hi")

    def test_utf8(self) -> None:
        """
        Text is UTF-8 both ways; invalid bytes become U+FFFD.
        """
        room = FakeChatRoom()
        alice, bob = chatter(room, 2)
        alice.sendBytes("héllo ☃ ".encode() + b"\x80\r\n")
        self.assertEqual(bob.lines(), ["<guest-1> héllo ☃ \ufffd"])


class CommandTests(SynchronousTestCase):
    """
    /nick /who /me /msg /help /quit and unknown commands.
    """

    def setUp(self) -> None:
        self.room = FakeChatRoom(rate=None)
        self.alice, self.bob = chatter(self.room, 2)

    def test_nick(self) -> None:
        """
        /nick renames; the others are told, the renamed client is told.
        """
        self.alice.send("/nick Alice_1")
        self.assertEqual(self.alice.lines(), ["* You are now Alice_1."])
        self.assertEqual(self.bob.lines(), ["* guest-1 is now known as Alice_1"])
        self.alice.send("hi")
        self.assertEqual(self.bob.lines(), ["<Alice_1> hi"])

    def test_nickInvalid(self) -> None:
        """
        Names are 1-24 letters, digits, C{_} or C{-}.
        """
        for bad in ("a b", "x" * 25, "é", "a.b", "<a>"):
            self.alice.send(f"/nick {bad}")
            self.assertEqual(self.alice.lines(), ["ERR a name is 1-24 letters, digits, _ or -"])
        self.alice.send("/nick " + "x" * 24)
        self.assertEqual(self.alice.name, "x" * 24)

    def test_nickUsage(self) -> None:
        self.alice.send("/nick")
        self.assertEqual(self.alice.lines(), ["ERR usage: /nick NAME"])

    def test_nickTaken(self) -> None:
        """
        Names are unique, whatever their case.
        """
        self.bob.send("/nick Bob")
        self.alice.read()
        self.alice.send("/nick bob")
        self.assertEqual(self.alice.lines(), ["ERR the name bob is taken"])
        self.assertEqual(self.alice.name, "guest-1")

    def test_nickCase(self) -> None:
        """
        A client may change the case of its own name.
        """
        self.bob.send("/nick bob", "/nick BOB")
        self.assertEqual(self.bob.name, "BOB")
        self.assertEqual(self.room.room.find("Bob").name, "BOB")

    def test_nickReserved(self) -> None:
        """
        No network client may call itself operator, nor anything that passes
        for it or for the server (0perator, operat0r, operator_, ERR, ...).
        """
        lookalikes = ("operator", "Operator-2", "operator_", "operator-", "0perator", "operat0r")
        for name in (*lookalikes, "ERR", "err_", "Server", "s3rver", "netlab"):
            self.alice.send(f"/nick {name}")
            self.assertEqual(self.alice.lines(), [f"ERR the name {name} is reserved"])
        for name in ("opera", "tom2", "guest", "errol"):
            self.alice.send(f"/nick {name}")
            self.assertEqual(self.alice.lines(), [f"* You are now {name}."])

    def test_who(self) -> None:
        self.bob.send("/nick bob")
        self.alice.read()
        self.alice.send("/who")
        self.assertEqual(self.alice.lines(), ["* 2 in the room: guest-1, bob"])

    def test_whoLimit(self) -> None:
        """
        /who names at most C{WHO_LIMIT} people and counts the rest.
        """
        self.room.connect(WHO_LIMIT)
        self.alice.read()
        self.alice.send("/who")
        (line,) = self.alice.lines()
        self.assertTrue(line.startswith(f"* {WHO_LIMIT + 2} in the room: guest-1, guest-2,"))
        self.assertTrue(line.endswith(" and 2 more"))

    def test_me(self) -> None:
        self.alice.send("/me waves \x1b[5m")
        self.assertEqual(self.bob.lines(), ["* <guest-1> waves "])
        self.alice.send("/me")
        self.assertEqual(self.alice.lines(), ["ERR usage: /me ACTION"])

    def test_meCannotForgeNotices(self) -> None:
        """
        No action looks like a server notice: C{/me has left} and C{/me is now
        known as operator} show the name in brackets, which notices never do.
        """
        self.alice.send("/me has left", "/me is now known as operator")
        self.assertEqual(
            self.bob.lines(),
            ["* <guest-1> has left", "* <guest-1> is now known as operator"],
        )
        self.alice.send("/quit")
        self.assertEqual(self.bob.lines(), ["* guest-1 has left"])

    def test_msg(self) -> None:
        """
        /msg reaches only its addressee (any case), scrubbed; the sender is
        told what was sent to whom.
        """
        (carol,) = chatter(self.room, 1)
        self.alice.read()
        self.bob.read()
        self.alice.send("/msg GUEST-2 psst \x1b[31mhi")
        self.assertEqual(self.bob.lines(), ["[private] <guest-1> psst hi"])
        self.assertEqual(carol.lines(), [])
        self.assertEqual(self.alice.lines(), ["[private to guest-2] psst hi"])

    def test_msgErrors(self) -> None:
        self.alice.send("/msg", "/msg guest-2", "/msg nobody hi")
        self.assertEqual(
            self.alice.lines(),
            [
                "ERR usage: /msg NAME TEXT",
                "ERR usage: /msg NAME TEXT",
                "ERR no one called nobody is here",
            ],
        )

    def test_help(self) -> None:
        """
        /help lists every command, case-insensitively invoked.
        """
        self.alice.send("/HELP")
        text = "\n".join(self.alice.lines())
        for command in ("/nick", "/who", "/me", "/msg", "/quit", "/help", "//"):
            self.assertIn(command, text)
        self.assertNotIn("/kick", text)

    def test_helpBare(self) -> None:
        """
        A bare client gets /help as one message whose lines are separated by
        C{\\n}, without a trailing terminator.
        """
        (bare,) = self.room.connect(1, lineMode=False)
        bare.read()
        bare.sendBytes(b"/help")
        self.room.clock.advance(self.room.factory.bareDelay)
        data = bare.read()
        self.assertIn(b"\n*   /who", data)
        self.assertFalse(data.endswith(b"\n"))

    def test_quit(self) -> None:
        """
        /quit says goodbye, closes, and the others are told.
        """
        self.alice.send("/quit", "ignored")
        self.assertEqual(self.alice.lines(), ["* Bye!"])
        self.assertTrue(self.alice.transport.disconnecting)
        self.assertEqual(self.bob.lines(), ["* guest-1 has left"])

    def test_endOfStream(self) -> None:
        """
        End of stream leaves the room too.
        """
        self.alice.protocol.readConnectionLost()
        self.assertEqual(self.bob.lines(), ["* guest-1 has left"])
        self.assertTrue(self.alice.transport.disconnecting)

    def test_halfCloseLastLine(self) -> None:
        """
        A last unterminated line before end of stream is still relayed.
        """
        self.alice.sendBytes(b"bye\r\nlast")
        self.alice.protocol.readConnectionLost()
        self.assertEqual(
            self.bob.lines(), ["<guest-1> bye", "<guest-1> last", "* guest-1 has left"]
        )

    def test_connectionLost(self) -> None:
        self.alice.disconnect()
        self.assertEqual(self.bob.lines(), ["* guest-1 has left"])
        self.assertIsNone(self.room.room.find("guest-1"))

    def test_unknown(self) -> None:
        self.alice.send("/frobnicate now", "/")
        self.assertEqual(
            self.alice.lines(),
            ["ERR unknown command /frobnicate (try /help)", "ERR unknown command / (try /help)"],
        )
        self.assertEqual(self.bob.lines(), [])

    def test_unknownScrubbed(self) -> None:
        """
        An unknown command is echoed in the error without control characters.
        """
        self.alice.send("/\x1b[31mx")
        self.assertEqual(self.alice.lines(), ["ERR unknown command /x (try /help)"])

    def test_operatorCommandsRefused(self) -> None:
        """
        No network client can /kick or /wall.
        """
        self.alice.send("/kick guest-2", "/wall hello")
        self.assertEqual(
            self.alice.lines(),
            [
                "ERR /kick is only for the operator console",
                "ERR /wall is only for the operator console",
            ],
        )
        self.assertEqual(self.bob.lines(), [])
        self.assertEqual(self.bob.name, "guest-2")

    def test_longLine(self) -> None:
        """
        An over-long line is refused; the connection stays usable.
        """
        room = FakeChatRoom(maxLineLength=10)
        alice, bob = chatter(room, 2)
        alice.send("x" * 11, "ok")
        self.assertEqual(alice.lines(), ["ERR line too long (max 10 bytes)"])
        self.assertEqual(bob.lines(), ["<guest-1> ok"])


class OperatorTests(SynchronousTestCase):
    """
    The operator console: joins as operator, may /kick and /wall.
    """

    def setUp(self) -> None:
        self.room = FakeChatRoom(rate=Rate(1.0, 1))
        self.alice, self.bob = chatter(self.room, 2)
        self.operator = self.room.connectOne(OperatorFactory(self.room.factory))
        self.operator.read()
        self.alice.read()
        self.bob.read()

    def test_joinsAsOperator(self) -> None:
        self.assertEqual(self.operator.name, "operator")
        second = self.room.connectOne(OperatorFactory(self.room.factory))
        self.assertEqual(second.name, "operator-2")

    def test_talks(self) -> None:
        """
        The console talks like anyone, and is never rate-limited.
        """
        self.operator.send("one", "two", "three")
        self.assertEqual(
            self.alice.lines(), ["<operator> one", "<operator> two", "<operator> three"]
        )

    def test_kick(self) -> None:
        """
        /kick tells the person why, closes its connection and tells the room.
        """
        self.operator.send("/kick GUEST-1")
        self.assertEqual(self.alice.lines(), ["ERR you were kicked by operator"])
        self.assertTrue(self.alice.transport.disconnecting)
        self.assertEqual(self.bob.lines(), ["* guest-1 has left (kicked by operator)"])
        self.assertEqual(self.operator.lines(), ["* guest-1 has left (kicked by operator)"])

    def test_kickErrors(self) -> None:
        self.operator.send("/kick", "/kick nobody", "/kick operator")
        self.assertEqual(
            self.operator.lines(),
            [
                "ERR usage: /kick NAME",
                "ERR no one called nobody is here",
                "ERR the console cannot kick itself (use /quit)",
            ],
        )

    def test_wall(self) -> None:
        self.operator.send("/wall maintenance at \x1b[1mnoon")
        self.assertEqual(self.alice.lines(), ["*** operator: maintenance at noon"])
        self.assertEqual(self.bob.lines(), ["*** operator: maintenance at noon"])
        self.operator.send("/wall")
        self.assertEqual(self.operator.lines(), ["ERR usage: /wall TEXT"])

    def test_help(self) -> None:
        self.operator.send("/help")
        text = "\n".join(self.operator.lines())
        self.assertIn("/kick", text)
        self.assertIn("/wall", text)

    def test_noIdleTimeout(self) -> None:
        """
        The console is never timed out for silence.
        """
        room = FakeChatRoom(idleTimeout=10)
        operator = room.connectOne(OperatorFactory(room.factory))
        room.connect(1)
        room.clock.advance(100)
        self.assertFalse(operator.transport.disconnecting)


#: The notice a client gets when its lines start to wait.
SLOW_DOWN = "ERR slow down: lines beyond 5 a second wait their turn"


class FloodTests(SynchronousTestCase):
    """
    The pace (L{netlab.pacing}): a burst, then lines at the sustained rate;
    what is beyond it waits -- nothing is lost -- and the sender is told once.
    """

    def setUp(self) -> None:
        self.room = FakeChatRoom(rate=Rate(5.0, 20))
        self.alice, self.bob = chatter(self.room, 2)
        self.room.clock.advance(10)  # a full bucket again after joining

    def test_slowDown(self) -> None:
        """
        25 lines at once: the burst of 20 is relayed at once, the sender is
        told (once) that the rest wait, and they follow at 5 a second, in order.
        """
        self.alice.send(*[f"m{n}" for n in range(25)])
        self.assertEqual(self.alice.lines(), [SLOW_DOWN])
        self.assertEqual(self.bob.lines(), [f"<guest-1> m{n}" for n in range(20)])
        self.assertEqual(self.alice.transport.producerState, "paused")
        self.room.clock.advance(0.5)
        self.assertEqual(self.bob.lines(), ["<guest-1> m20", "<guest-1> m21"])
        for _ in range(4):
            self.room.clock.advance(0.2)
        self.assertEqual(self.bob.lines(), ["<guest-1> m22", "<guest-1> m23", "<guest-1> m24"])
        self.assertEqual(self.alice.lines(), [])
        self.assertEqual(self.alice.transport.producerState, "producing")

    def test_oneNoticeAWhile(self) -> None:
        """
        A client that keeps flooding (twice the rate, here) is told again
        only after a while: once in the first ten seconds, once after.
        """
        self.alice.send(*["x"] * 30)
        self.assertEqual(self.alice.lines(), [SLOW_DOWN])
        for _ in range(49):  # up to 9.8 s after the notice
            self.room.clock.advance(0.2)
            self.alice.send("y", "y")
        self.assertEqual(self.alice.lines(), [])
        for _ in range(5):
            self.room.clock.advance(0.2)
            self.alice.send("y", "y")
        self.assertEqual(self.alice.lines(), [SLOW_DOWN])

    def test_refill(self) -> None:
        """
        The bucket refills at the sustained rate.
        """
        self.alice.send(*["x"] * 20)
        self.bob.read()
        self.room.clock.advance(1)
        self.alice.send(*[f"m{n}" for n in range(6)])
        self.assertEqual(self.bob.lines(), [f"<guest-1> m{n}" for n in range(5)])
        self.assertEqual(self.alice.lines(), [SLOW_DOWN])

    def test_commandsCount(self) -> None:
        """
        Commands count too: /who in a loop is the cheapest amplifier there is.
        """
        self.alice.send(*["/who"] * 21)
        lines = self.alice.lines()
        self.assertEqual(len(lines), 21)
        self.assertEqual(lines[-1], SLOW_DOWN)

    def test_off(self) -> None:
        """
        With no pace and no address share, a thousand lines go through at once.
        """
        room = FakeChatRoom(**UNLIMITED)
        alice, bob = chatter(room, 2)
        alice.send(*["x"] * 1000)
        self.assertEqual(len(bob.lines()), 1000)


class AddressShareTests(SynchronousTestCase):
    """
    What one address may send into the room, over all its connections.
    """

    def test_oneAddressManyConnections(self) -> None:
        """
        Three connections from one address share its lines per second; a
        client from another address is not held up; nothing is lost.
        """
        room = FakeChatRoom(rate=None, addressRate=Rate(2.0, 4), addressBytes=None)
        same = [room.connectOne(host="10.0.0.1") for _ in range(3)]
        other, watcher = room.connect(2)
        for client in room.clients:
            client.read()
        room.clock.advance(10)
        for index, client in enumerate(same):
            client.send(f"a{index}", f"b{index}")
        other.send("hello")
        said = [line.split("> ")[1] for line in watcher.lines() if "> " in line]
        self.assertEqual(said, ["a0", "b0", "a1", "b1", "hello"])
        told = [[line for line in client.lines() if line.startswith("ERR")] for client in same]
        notice = "ERR slow down: your address sends more than its share; lines wait their turn"
        self.assertEqual(told, [[], [], [notice]])
        for _ in range(2):
            room.clock.advance(0.5)
        said = [line.split("> ")[1] for line in watcher.lines() if "> " in line]
        self.assertEqual(said, ["a2", "b2"])

    def test_bytes(self) -> None:
        """
        Bytes per second too: long lines from one address wait for their share.
        """
        room = FakeChatRoom(rate=None, addressRate=None, addressBytes=1000)
        alice, watcher = chatter(room, 2)
        room.clock.advance(10)
        alice.send(*["x" * 900] * 6)
        self.assertEqual(len([line for line in watcher.lines() if "> " in line]), 4)
        room.clock.advance(1.8)
        self.assertEqual(len([line for line in watcher.lines() if "> " in line]), 2)


class CountingTransport(ClientTransport):
    """
    A client transport that counts the writes it is given.
    """

    writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        super().write(data)


class BatchTests(SynchronousTestCase):
    """
    The lines said in one reactor turn reach each member together, at the
    start of the next (L{ChatRoom.settle}), in the order they were said; what
    a member is sent of its own comes after the room lines said before it.
    """

    def setUp(self) -> None:
        self.room = FakeChatRoom(**UNLIMITED)
        self.alice, self.bob, self.carol = chatter(self.room, 3)

    def test_oneWritePerTurn(self) -> None:
        """
        Two senders' lines of one turn reach a third member in one write, in
        the order they were said; each sender gets the other's, not its own.
        """
        counting = CountingTransport(peerAddress=self.carol.transport.getPeer())
        self.carol.transport = counting
        self.carol.protocol.transport = counting
        self.alice.send("a1", "a2")
        self.bob.send("b1")
        self.alice.send("a3")
        self.assertEqual(counting.value(), b"")  # (not before the turn ends)
        a, b = self.alice.name, self.bob.name
        self.assertEqual(
            self.carol.lines(), [f"<{a}> a1", f"<{a}> a2", f"<{b}> b1", f"<{a}> a3"]
        )
        self.assertEqual(counting.writes, 1)
        self.assertEqual(self.alice.lines(), [f"<{b}> b1"])
        self.assertEqual(self.bob.lines(), [f"<{a}> a1", f"<{a}> a2", f"<{a}> a3"])

    def test_privateAfterRoomLines(self) -> None:
        """
        A private message sent after a room line, in the same turn, arrives
        after it.
        """
        self.alice.send("hello", f"/msg {self.bob.name} psst")
        a = self.alice.name
        self.assertEqual(self.bob.lines(), [f"<{a}> hello", f"[private] <{a}> psst"])

    def test_lineEndsAsTheyWere(self) -> None:
        """
        A member that ends its lines otherwise in the turn a line was said
        gets that line ended as its own lines were when it was said.
        """
        self.alice.send("before")
        self.bob.send("now with LF", end="\n")
        data = self.bob.read()
        self.assertIn(f"<{self.alice.name}> before\r\n".encode(), data)

    def test_newcomer(self) -> None:
        """
        A member who comes in the turn a line was said gets it in the
        history, not twice.
        """
        self.alice.send("before")
        (dave,) = self.room.connect(1)
        self.assertEqual(dave.lines().count(f"<{self.alice.name}> before"), 1)

    def test_lineClientBeforeItsWelcome(self) -> None:
        """
        A client that shows it is a line client before its welcome went out
        gets the welcome first, then the lines said meanwhile, once each.
        """
        address = IPv4Address("TCP", "127.0.0.9", 5000)
        protocol = self.room.factory.buildProtocol(address)
        quiet = FakeClient(self.room, protocol, ClientTransport(peerAddress=address))
        self.room.clients.append(quiet)
        protocol.makeConnection(quiet.transport)
        self.alice.send("while you were quiet")
        quiet.send("hi")
        lines = quiet.lines()
        said = f"<{self.alice.name}> while you were quiet"
        self.assertEqual(lines[0], GREETING)
        self.assertEqual(lines.count(said), 1)


class CourseClientTests(SynchronousTestCase):
    """
    The course's chat client: bare messages, one C{recv} for each answer.
    """

    def test_overLongMessageAnswered(self) -> None:
        """
        A message over the limit is answered with the refusal (it waits for
        an answer and would never get one), and the next one as usual.
        """
        room = FakeChatRoom(**UNLIMITED)
        (course,) = room.connect(1, lineMode=False)
        course.read()
        course.sendBytes(b"x" * (MAX_LINE + 1))
        room.clock.advance(BARE_DELAY)
        self.assertIn(b"ERR line too long", course.read())
        course.sendBytes(b"hello")
        room.clock.advance(BARE_DELAY)
        self.assertEqual(course.read(), b"* nobody else is here yet")


class TurnTests(SynchronousTestCase):
    """
    One client's lines may not keep the reactor to themselves.
    """

    def test_budget(self) -> None:
        """
        A relayed line costs its sender's address one unit of the turn's
        budget, and one more per C{DELIVERIES_PER_UNIT} people it reached;
        once the share is spent, the sender's further lines wait (and it is
        not read) until the next turn; nothing is lost or reordered.
        """
        self.patch(member, "DELIVERIES_PER_UNIT", 1)
        room = FakeChatRoom(rate=None)
        room.factory.turnBudget.perTurn = 10
        alice, bob = chatter(room, 2)
        room.flush()
        alice.send(*[f"m{n}" for n in range(12)])
        # 3 units a line (1 + 2 members): the 4th line spends the 10th unit.
        room.room.settle()
        self.assertEqual(bob.transport.value().count(b"\n"), 4)
        self.assertEqual(alice.transport.producerState, "paused")
        self.assertEqual(bob.lines(), [f"<guest-1> m{n}" for n in range(12)])
        self.assertEqual(alice.transport.producerState, "producing")


class SendQueueTests(SynchronousTestCase):
    """
    A client that does not read is dropped once it owes more than C{sendq}.
    """

    def setUp(self) -> None:
        self.room = FakeChatRoom(sendq=100_000, **UNLIMITED)
        self.sender, self.reader, self.sleeper = chatter(self.room, 3)
        self.line = "x" * 990  # 1000 bytes relayed with "<guest-1> " and "\r\n"

    def flood(self, count: int) -> list[str]:
        """
        Send C{count} numbered lines, reading as C{reader}; return what it read.
        """
        got = []
        for number in range(count):
            self.sender.send(f"{self.line[:-6]}{number:06d}")
            got.extend(self.reader.lines())
        return got + self.reader.lines()

    def test_pausedKeepsQueue(self) -> None:
        """
        While the transport is full the client is not written to, and nothing
        is lost: once it reads, it gets everything, in order.
        """
        self.flood(120)
        self.assertTrue(self.sleeper.protocol.paused)
        data = []
        while chunk := self.sleeper.lines():
            data += chunk
        self.assertEqual([line[-6:] for line in data], [f"{n:06d}" for n in range(120)])
        self.assertEqual(self.sleeper.name, "guest-3")

    def test_dropped(self) -> None:
        """
        Past C{sendq} the client is told, dropped and announced as left; the
        others keep receiving everything in order.
        """
        got = self.flood(300)
        self.assertIsNone(self.sleeper.name)
        self.assertTrue(self.sleeper.transport.disconnecting)
        self.assertIn("* guest-3 has left (send queue exceeded)", got)
        relayed = [line for line in got if line.startswith("<")]
        self.assertEqual([line[-6:] for line in relayed], [f"{n:06d}" for n in range(300)])
        tail = self.sleeper.read()
        self.assertTrue(tail.endswith(b"ERR send queue exceeded\r\n"), tail[-100:])

    def test_boundedOutput(self) -> None:
        """
        A client that never reads is never handed more than its transport's
        buffer, a chunk, and C{sendq}.
        """
        self.flood(300)
        held = len(self.sleeper.transport.value())
        self.assertLess(held, 65536 + 65536 + 100_000)

    def test_abortedAfterGrace(self) -> None:
        """
        A dropped client that still does not read is aborted after DROP_GRACE.
        """
        self.flood(300)
        self.assertFalse(self.sleeper.transport.disconnected)
        self.room.clock.advance(DROP_GRACE)
        self.assertTrue(self.sleeper.transport.disconnected)

    def test_pausedStopsReading(self) -> None:
        """
        A paused client's own lines wait until it resumes (the framing's
        back-pressure), then are handled.
        """
        self.flood(100)
        self.sleeper.send("late")
        self.assertNotIn("<guest-3> late", self.reader.lines())
        while self.sleeper.protocol.paused:
            self.sleeper.read()
        self.assertIn("<guest-3> late", self.reader.lines())


class IdleTests(SynchronousTestCase):
    """
    Silent clients are dropped after the idle timeout, by one room-wide sweep.
    """

    def test_timeout(self) -> None:
        room = FakeChatRoom(idleTimeout=80)
        alice, bob = chatter(room, 2)
        room.clock.advance(50)
        alice.send("still here")
        room.clock.advance(40)
        self.assertEqual(bob.lines()[-1], "ERR idle timeout")
        self.assertTrue(bob.transport.disconnecting)
        self.assertFalse(alice.transport.disconnecting)
        self.assertEqual(alice.lines(), ["* guest-2 has left (idle timeout)"])
        room.clock.advance(60)
        self.assertTrue(alice.transport.disconnecting)

    def test_noTimerPerClient(self) -> None:
        """
        However many clients there are, one timer watches them.
        """
        room = FakeChatRoom(idleTimeout=80)
        room.connect(100)
        room.flush()
        self.assertEqual(len(room.clock.getDelayedCalls()), 1)

    def test_off(self) -> None:
        room = FakeChatRoom()
        (alice,) = chatter(room, 1)
        room.flush()
        self.assertEqual(room.clock.getDelayedCalls(), [])


class ShutdownTests(SynchronousTestCase):
    """
    Server shutdown: everyone is told, nothing else is said.
    """

    def test_shutdown(self) -> None:
        room = FakeChatRoom()
        alice, bob = chatter(room, 2)
        alice.send("queued")
        for client in (alice, bob):
            client.protocol.serverShutdown()
        self.assertEqual(alice.lines(), ["* server shutting down"])
        self.assertEqual(bob.lines(), ["<guest-1> queued", "* server shutting down"])
        self.assertTrue(alice.transport.disconnecting)
        self.assertTrue(bob.transport.disconnecting)

    def test_throughGuard(self) -> None:
        """
        The guard's shutdown reaches the chat clients through its wrappers.
        """
        factory = ChatFactory(FakeChatRoom().clock)
        guard = GuardFactory(factory, "chat", factory.clock)
        transports = []
        for port in (1, 2):
            wrapper = guard.buildProtocol(IPv4Address("TCP", "127.0.0.1", port))
            transport = StringTransport()
            wrapper.makeConnection(transport)
            transports.append(transport)
        guard.shutdown()
        for transport in transports:
            # Clients that never said anything: plain, unterminated, on a line of its own.
            self.assertTrue(transport.value().endswith(b"\n* server shutting down\n"))
            self.assertTrue(transport.disconnecting)


class NoDelayTests(SynchronousTestCase):
    """
    A member's lines are sent at once, without Nagle's wait.
    """

    def test_set(self) -> None:
        """
        A member turns on C{TCP_NODELAY} on a transport that has it.
        """

        class TCPLike(ClientTransport):
            noDelay: bool | None = None

            def setTcpNoDelay(self, enabled: bool) -> None:
                self.noDelay = enabled

        room = FakeChatRoom()
        address = IPv4Address("TCP", "127.0.0.1", 1)
        transport = TCPLike(peerAddress=address)
        room.factory.buildProtocol(address).makeConnection(transport)
        self.assertIs(transport.noDelay, True)

    def test_absentOrGone(self) -> None:
        """
        A transport without the option, or whose socket is already gone, is
        left as it is.
        """

        class Gone:
            def setTcpNoDelay(self, enabled: bool) -> None:
                raise OSError(9, "Bad file descriptor")

        member.noDelay(Gone())
        member.noDelay(StringTransport())


class FactoryTests(SynchronousTestCase):
    """
    Building the service from the plugin's options.
    """

    def test_builtFromOptions(self) -> None:
        config = Options()
        config.parseOptions(
            ["--chat", "1", "--chat-history", "3", "--chat-sendq", "64K", "--chat-rate", "2/s,4"]
            + ["--max-line", "100", "--bare-delay", "0.5", "--idle-timeout", "0"]
        )
        factory = serviceFactory("chat", config, FakeChatRoom().clock)
        self.assertEqual(factory.room.history.maxlen, 3)
        self.assertEqual(factory.sendq, 65536)
        self.assertEqual(factory.rate, Rate(2.0, 4))
        self.assertEqual((factory.maxLineLength, factory.bareDelay), (100, 0.5))
        self.assertIsNone(factory.idleTimeout)
        self.assertIsNone(factory.room.idleTimeout)

    def test_nameKey(self) -> None:
        """
        A lower-case name is its own key (no second string per client).
        """
        name = "guest-12"
        self.assertIs(nameKey(name), name)
        self.assertEqual(nameKey("Bob"), "bob")


@implementer(IChatMember)
class RecordingMember:
    """
    A member that is not a stream connection (as a WebSocket member would
    be): it only records what the room gives it.
    """

    terminator = b""
    lastHeard = None

    def __init__(self) -> None:
        self.name: str | None = None
        self.received: list[bytes] = []
        self.flushes = 0
        self.closedWith: list[str | None] = []
        self.reported: list[tuple[str, str]] = []

    room = None

    def deliver(self, line: bytes) -> None:
        self.received.append(line)

    def directSocket(self) -> None:
        return None

    def sentDirect(self, line: bytes, sent: int) -> None:
        raise AssertionError("it has no socket")

    def flush(self) -> None:
        self.flushes += 1

    def sendMessage(self, text: str) -> None:
        if self.room is not None:  # (what the room said before comes first)
            self.room.settle()
        self.received.append(text.encode("utf-8"))

    def sendError(self, text: str) -> None:
        self.sendMessage("ERR " + text)

    def close(self, reason: str | None = None) -> None:
        self.closedWith.append(reason)

    def timedOut(self) -> None:
        self.close("idle timeout")

    def reportLimit(self, text: str, kind: str) -> None:
        self.reported.append((kind, text))

    def renamed(self, name: str, why: str | None) -> None:
        self.name = name
        self.sendMessage(f"* {why}; you are now {name}." if why else f"* You are now {name}.")


class InterfaceTests(SynchronousTestCase):
    """
    The room and its members meet only through L{IChatRoom} and
    L{IChatMember}, so either side can be replaced.
    """

    def test_providers(self) -> None:
        """
        The room, the stream member and the operator console provide their
        interfaces.
        """
        room = FakeChatRoom()
        (alice,) = room.connect(1)
        (console,) = room.connect(1, factory=OperatorFactory(room.factory))
        verifyObject(IChatRoom, room.room)
        verifyObject(IChatMember, alice.protocol)
        verifyObject(IChatMember, console.protocol)
        verifyObject(IChatMember, RecordingMember())

    def test_otherMember(self) -> None:
        """
        A member of another kind joins the same room as stream clients: it
        gets their lines (unterminated, as its terminator says), they get its,
        and commands such as C{/msg} and C{/kick} reach it.
        """
        room = FakeChatRoom(rate=None)
        (alice,) = chatter(room, 1)
        other = RecordingMember()
        other.room = room.room
        other.name = room.room.join(other, "web")
        alice.send("hello", "/msg web psst")
        room.room.broadcast("<web> hi", exclude=other)
        expected = [f"<{alice.name}> hello", f"[private] <{alice.name}> psst"]
        self.assertEqual(other.received, [line.encode() for line in expected])
        self.assertIn("<web> hi", alice.lines())
        (console,) = room.connect(1, factory=OperatorFactory(room.factory))
        console.send("/kick web")
        self.assertEqual(other.closedWith, ["kicked by operator"])

    def test_otherRoom(self) -> None:
        """
        The factory takes any L{IChatRoom}; its members use nothing else.
        """
        room = FakeChatRoom(rate=None)
        second = FakeChatRoom(factory=ChatFactory(room.clock, room=room.room, rate=None))
        (alice,) = chatter(room, 1)
        (bob,) = chatter(second, 1)
        alice.send("one room")
        self.assertIn(f"<{alice.name}> one room", bob.lines())


class ReservedNameTests(SynchronousTestCase):
    """
    /nick refuses the names the room gives newcomers and names that pass for
    the server or for someone in charge; the room's own guest names keep
    working.
    """

    def setUp(self) -> None:
        self.room = FakeChatRoom(rate=None)
        (self.alice,) = chatter(self.room, 1)

    def assertRefused(self, *names: str) -> None:
        """
        Each of C{names} is refused as reserved, and Alice keeps her name.
        """
        before = self.alice.name
        for name in names:
            self.alice.send(f"/nick {name}")
            self.assertEqual(self.alice.lines(), [f"ERR the name {name} is reserved"])
        self.assertEqual(self.alice.name, before)

    def assertAccepted(self, *names: str) -> None:
        """
        Each of C{names} is accepted.
        """
        for name in names:
            self.alice.send(f"/nick {name}")
            self.assertEqual(self.alice.lines(), [f"* You are now {name}."])

    def test_guestNames(self) -> None:
        """
        No client may take a name like those the room gives newcomers, in any
        case or spelling; the next newcomer still gets the next guest name.
        """
        self.assertRefused("guest-5", "guest-547", "Guest-2", "GUEST_2", "guest2", "gue5t-2")
        (bob,) = chatter(self.room, 1)
        self.assertEqual(bob.name, "guest-2")
        self.alice.read()
        self.assertAccepted("guest", "guests", "guest-x", "guest-1a", "guestbook")

    def test_guestNamesAfterRenames(self) -> None:
        """
        The room keeps giving guest names, skipping any still in use, after
        its guests have renamed themselves.
        """
        self.assertAccepted("alice")
        bob, carol = chatter(self.room, 2)
        self.assertEqual([bob.name, carol.name], ["guest-2", "guest-3"])
        bob.send("/nick bob")
        (dave,) = chatter(self.room, 1)
        self.assertEqual(dave.name, "guest-4")

    def test_operatorMayTakeAGuestName(self) -> None:
        """
        The operator console, which may take any reserved name, may take a
        guest name too; newcomers are then given the ones after it.
        """
        (console,) = self.room.connect(1, factory=OperatorFactory(self.room.factory))
        console.read()
        console.send("/nick guest-2")
        self.assertIn("* You are now guest-2.", console.lines())
        names = [client.name for client in self.room.connect(2)]
        self.assertEqual(names, ["guest-3", "guest-4"])

    def test_authority(self) -> None:
        """
        Names that pass for someone in charge are refused, with the same
        look-alikes as the operator's: case, C{_} and C{-}, trailing digits,
        digits for letters.
        """
        self.assertRefused(
            *("root", "R00T", "sysop", "SysOp_1", "op", "0p", "moderator", "Mod", "m0d-2"),
            *("staff", "admin", "Administrator", "sysadmin", "system", "5y5tem"),
        )

    def test_theAndPlurals(self) -> None:
        """
        A leading C{the} and a plural C{s} make no new name.
        """
        self.assertRefused(
            *("the-server", "TheServer", "th3_s3rv3r", "the_operator", "the-admin"),
            *("mods", "admins", "ops", "the-mods", "servers", "errors"),
        )

    def test_ordinaryNames(self) -> None:
        """
        Ordinary names that merely contain or resemble those words stay free.
        """
        self.assertAccepted(
            *("theo", "thermos", "rooted", "opal", "model", "modest", "staffan"),
            *("admiral", "sys", "os", "the", "moderna", "errol", "opera"),
        )
