"""
Tests for L{netlab.chat.shared.room.SharedRoom}: one room across daemons, each
with its own members, ordered by a log they share -- here the in-memory one of
L{netlab.test.memorylog}, which runs the Lua's semantics with no Redis.  The
real log, on a real Redis, has system tests of its own.

Each simulated daemon is a L{ChatFactory} over a L{SharedRoom} on a
L{MemoryRoomLog}, with in-memory clients (L{netlab.testing}); all of them
share one L{MemoryRedis} and one L{Clock}.  Nothing travels between daemons
until the test pumps the store.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from netlab.chat import GREETING, ChatFactory, IChatRoom, OperatorFactory
from netlab.chat.shared import HOLD
from netlab.chat.shared.entries import LINK_BACK, LINK_LOST
from netlab.chat.shared.interfaces import IRoomLog, IRoomLogListener, Op
from netlab.chat.shared.room import SharedRoom
from netlab.monitor import KICK
from netlab.test.memorylog import MemoryRedis, MemoryRoomLog
from netlab.testing import UNLIMITED, FakeChatRoom, FakeClient

#: What a line client is told after the greeting (L{netlab.chat.protocol}).
YOU_ARE = "* You are {}. Type /help for the commands."

#: What a sender is told when its line (or private message to another daemon)
#: cannot wait for the link.
NOT_SENT = "ERR room link down, not sent"


class Daemon:
    """
    One simulated daemon in the shared room.

    @ivar log: its L{MemoryRoomLog}.
    @ivar room: its L{SharedRoom}.
    @ivar factory: its L{ChatFactory}, whose members join C{room}.
    @ivar clients: its in-memory clients (a L{FakeChatRoom} on C{factory}).
    """

    def __init__(
        self, store: MemoryRedis, clock: Clock, name: str, hold: int, options: dict
    ) -> None:
        self.log = MemoryRoomLog(store, name, hold)
        self.room = SharedRoom(clock, self.log, **options)
        self.factory = ChatFactory(clock, room=self.room, **UNLIMITED)
        self.clients = FakeChatRoom(self.factory)

    def connect(self) -> FakeClient:
        """
        A new line client.
        """
        return self.clients.connectOne()

    def console(self) -> FakeClient:
        """
        A new operator console.
        """
        return self.clients.connectOne(OperatorFactory(self.factory))


class Monitor:
    """
    Stands in for a guarded connection's monitor: records the limits hit.
    """

    def __init__(self) -> None:
        self.limits: list[tuple[str, str]] = []

    def limitHit(self, text: str, kind: str = "limit", perAddress: bool = False) -> None:
        self.limits.append((text, kind))


def whoIs(client: FakeClient) -> list[str]:
    """
    The names C{client}'s C{/who} lists, sorted (after what it had to read).
    """
    client.read()
    client.send("/who")
    (line,) = client.lines()
    count, _, names = line.removeprefix("* ").partition(" in the room: ")
    listed = names.split(", ")
    assert int(count) == len(listed), line
    return sorted(listed)


class SharedRoomTestCase(SynchronousTestCase):
    """
    Three daemons, C{A}, C{B} and C{C}, in one shared room, their links up.

    @cvar hold: each log's bound on held lines.
    @cvar options: each L{SharedRoom}'s keyword arguments.
    """

    hold = HOLD
    options: dict = {}

    def setUp(self) -> None:
        self.clock = Clock()
        self.redis = MemoryRedis()
        self.daemons: list[Daemon] = []
        self.a, self.b, self.c = (self.daemon(name) for name in "ABC")

    def daemon(self, name: str) -> Daemon:
        """
        Start one more daemon, its link up.
        """
        daemon = Daemon(self.redis, self.clock, name, self.hold, self.options)
        self.daemons.append(daemon)
        daemon.log.linkUp()
        return daemon

    def pump(self) -> None:
        """
        Let the log carry everything there is to carry, and the rooms write it.
        """
        self.redis.pump()
        self.clock.advance(0)

    def member(self, daemon: Daemon, name: str) -> FakeClient:
        """
        A client of C{daemon} called C{name}, known everywhere; everyone's
        lines so far are read.  (Its join is read back before its /nick: see
        L{NameTests.test_nickAtOnce} for a /nick sent at once.)
        """
        client = daemon.connect()
        self.pump()
        client.send(f"/nick {name}")
        self.pump()
        self.readAll()
        return client

    def readAll(self) -> None:
        """
        Every client of every daemon reads what it was sent.
        """
        for daemon in self.daemons:
            for client in daemon.clients.clients:
                client.read()

    def lines(self) -> list[str]:
        """
        The room lines in the log, in its order.
        """
        return [entry["x"] for entry in self.redis.entries if entry["t"] == "line"]


class InterfaceTests(SharedRoomTestCase):
    """
    The shared room is a room and a log's listener; the memory log is a log.
    """

    def test_providers(self) -> None:
        verifyObject(IChatRoom, self.a.room)
        verifyObject(IRoomLogListener, self.a.room)
        verifyObject(IRoomLog, self.a.log)


class MemoryRedisTests(SynchronousTestCase):
    """
    The memory log's store does what L{netlab.chat.shared.scripts} does.
    """

    def setUp(self) -> None:
        self.redis = MemoryRedis()

    def test_claim(self) -> None:
        """
        A claim takes a free name or one of ours (with the name as now shown),
        and is refused, appending nothing, when another daemon has it.
        """
        self.assertTrue(self.redis.publish("A", Op({"t": "join"}, claim="ann", name="ann")))
        self.assertTrue(self.redis.publish("A", Op({"t": "nick"}, claim="ann", name="Ann")))
        self.assertFalse(self.redis.publish("B", Op({"t": "join"}, claim="ann", name="ann")))
        self.assertEqual(self.redis.names, {"ann": ("A", "Ann")})
        self.assertEqual(self.redis.entries, [{"t": "join"}, {"t": "nick"}])

    def test_checkAndRelease(self) -> None:
        """
        A check fails only on another daemon's name (not on a free one); a
        release frees only our name, and never the one claimed.
        """
        self.redis.names = {"ann": ("A", "ann"), "bob": ("B", "bob")}
        self.assertFalse(self.redis.publish("A", Op({}, check="bob")))
        self.assertTrue(self.redis.publish("A", Op({}, check="nobody")))
        self.assertTrue(self.redis.publish("A", Op({}, release="bob")))
        self.assertTrue(self.redis.publish("A", Op({}, claim="ann", name="ann", release="ann")))
        self.assertEqual(self.redis.names, {"ann": ("A", "ann"), "bob": ("B", "bob")})
        self.assertTrue(self.redis.publish("A", Op({}, claim="al", name="al", release="ann")))
        self.assertEqual(self.redis.names, {"al": ("A", "al"), "bob": ("B", "bob")})

    def test_reap(self) -> None:
        """
        A daemon's names are freed, each with a leave entry with no sequence
        number, only once its heartbeat is gone.
        """
        self.redis.names = {"ann": ("A", "Ann"), "bob": ("B", "bob")}
        self.redis.beating = {"A", "B"}
        self.assertEqual(self.redis.reap("A"), [])
        self.redis.expire("A")
        self.assertEqual(self.redis.reap("A"), ["Ann"])
        self.assertEqual(self.redis.names, {"bob": ("B", "bob")})
        self.assertEqual(
            self.redis.entries, [{"t": "leave", "d": "A", "a": "Ann", "x": "server lost"}]
        )

    def test_holdAndOrder(self) -> None:
        """
        While the link is down, held ops wait up to the bound; once it is up,
        ops go out in order, those published C{first} before the others
        waiting, each numbered and marked with its daemon.
        """
        log = MemoryRoomLog(self.redis, "A", hold=1)
        log.attach(SharedRoom(Clock(), log))
        self.assertTrue(log.publish(Op({"x": "1"}, held=True)))
        self.assertFalse(log.publish(Op({"x": "2"}, held=True)))
        self.assertTrue(log.publish(Op({"x": "3"})))
        self.assertTrue(log.publish(Op({"x": "0"}), first=True))
        log.linkUp()
        self.redis.pump()
        self.assertEqual(
            self.redis.entries,
            [
                {"x": "0", "d": "A", "n": "1"},
                {"x": "1", "d": "A", "n": "2"},
                {"x": "3", "d": "A", "n": "3"},
            ],
        )


class OnePerDaemonTestCase(SharedRoomTestCase):
    """
    C{alice} on A, C{bob} on B, C{carol} on C.
    """

    def setUp(self) -> None:
        super().setUp()
        self.alice = self.member(self.a, "alice")
        self.bob = self.member(self.b, "bob")
        self.carol = self.member(self.c, "carol")


class RelayTests(OnePerDaemonTestCase):
    """
    Room lines reach every member of every daemon, once, in one order.  (Also
    C{ann} on A.)
    """

    def setUp(self) -> None:
        super().setUp()
        self.ann = self.member(self.a, "ann")

    def test_everyoneOnceButTheSender(self) -> None:
        """
        A line from a member on A reaches the others on A, B and C once, and
        not its sender.
        """
        self.alice.send("hello")
        self.alice.send("/me waves")
        self.pump()
        for other in (self.ann, self.bob, self.carol):
            self.assertEqual(other.lines(), ["<alice> hello", "* <alice> waves"])
        self.assertEqual(self.alice.lines(), [])

    def test_oneOrder(self) -> None:
        """
        Lines said at once on several daemons reach everyone in the log's one
        order (each member's own left out).
        """
        self.alice.send("a1")
        self.bob.send("b1")
        self.carol.send("c1")
        self.alice.send("a2")
        self.pump()
        self.bob.send("b2")
        self.carol.send("c2")
        self.alice.send("a3")
        self.pump()
        said = self.lines()
        every = ["<alice> a1", "<alice> a2", "<alice> a3", "<bob> b1", "<bob> b2"]
        self.assertEqual(sorted(said), every + ["<carol> c1", "<carol> c2"])
        self.assertEqual(self.ann.lines(), said)
        for client in (self.alice, self.bob, self.carol):
            own = f"<{client.name}> "
            self.assertEqual(client.lines(), [line for line in said if not line.startswith(own)])


    def test_foreignEntriesSkipped(self) -> None:
        """
        Entries netlab did not write (anyone with access to Redis can add
        some) are skipped, once logged; the entries after them still arrive.
        """
        garbage = [
            {"t": "line", "m": "not a number", "d": self.a.log.daemon, "x": "one"},
            {"t": "join"},
            {"t": "nick", "n": "x"},
            {"t": "leave", "a": "bob\tx"},
            {"t": "no such type"},
            {},
        ]
        self.b.room.entriesReceived(garbage + [{"t": "line", "x": "<carol> still here"}])
        self.clock.advance(0)
        self.assertEqual(self.bob.lines(), ["one", "<carol> still here"])
        self.assertEqual(whoIs(self.bob), ["alice", "ann", "bob", "carol"])


class AnnouncementTests(OnePerDaemonTestCase):
    """
    Joins, renames and leaves are announced on every daemon.
    """

    def test_joinRenameLeave(self) -> None:
        """
        A newcomer on A is announced on A, B and C (not to itself), then its
        new name, then its leaving.
        """
        newcomer = self.a.connect()
        self.pump()
        name = newcomer.name
        self.assertEqual(newcomer.lines(), [GREETING, YOU_ARE.format(name)])
        everyone = (self.alice, self.bob, self.carol)
        for other in everyone:
            self.assertEqual(other.lines(), [f"* {name} has joined"])
        newcomer.send("/nick dora")
        self.pump()
        self.assertEqual(newcomer.lines(), ["* You are now dora."])
        for other in everyone:
            self.assertEqual(other.lines(), [f"* {name} is now known as dora"])
        newcomer.send("/quit")
        self.pump()
        for other in everyone:
            self.assertEqual(other.lines(), ["* dora has left"])
        self.assertNotIn("dora", self.redis.names)

    def test_connectionLost(self) -> None:
        """
        A member whose connection ends is announced everywhere as gone.
        """
        self.bob.disconnect()
        self.pump()
        self.assertEqual(self.alice.lines(), ["* bob has left"])
        self.assertEqual(self.carol.lines(), ["* bob has left"])


class AnnounceLimitTests(SharedRoomTestCase):
    """
    The room's size, for the announce limit, is everyone on every daemon.
    """

    options = {"announceLimit": 2}

    def setUp(self) -> None:
        super().setUp()
        self.ann = self.member(self.a, "ann")
        self.bob = self.member(self.b, "bob")

    def test_joinPastTheLimit(self) -> None:
        """
        A third member is not announced, even on A and B, which have one
        member each.
        """
        self.c.connect()
        self.pump()
        self.assertEqual(self.ann.lines(), [])
        self.assertEqual(self.bob.lines(), [])

    def test_leavePastTheLimit(self) -> None:
        """
        A leave from a room over the limit is not announced, as in one
        process's room (where the one leaving counts: it is still there when
        it goes).
        """
        single = FakeChatRoom(announceLimit=2, **UNLIMITED)
        ann, bob, third = single.connect(3)
        for client in (ann, bob, third):
            client.read()
        third.send("/quit")
        self.assertEqual(ann.lines(), [])
        third = self.a.connect()
        self.pump()
        self.readAll()
        third.send("/quit")
        self.pump()
        self.assertEqual(self.ann.lines(), [])
        self.assertEqual(self.bob.lines(), [])


    def test_lostPastTheLimit(self) -> None:
        """
        A member of a lost daemon, forgotten here without an entry in the
        log, counts the same way: not announced past the limit either.
        """
        self.c.connect()
        self.pump()
        self.readAll()
        self.b.room.daemonLost("C", [])
        self.clock.advance(0)
        self.assertEqual(self.bob.lines(), [])
        self.assertEqual(sorted(self.b.room.names()), ["ann", "bob"])


class NameTests(SharedRoomTestCase):
    """
    One name, one member, over every daemon.
    """

    def test_guestNumbersFromTheLog(self) -> None:
        """
        Guest names come from the log's counter, so no two daemons give out
        the same one.
        """
        names = [daemon.connect().name for daemon in (self.a, self.b, self.c, self.a)]
        self.assertEqual(names, ["guest-1", "guest-2", "guest-3", "guest-4"])
        self.redis.guests = 41
        self.assertEqual(self.b.connect().name, "guest-42")

    def test_guestNameSkipsOneTaken(self) -> None:
        """
        A guest name someone already has (the operator took it) is skipped.
        """
        console = self.a.console()
        self.pump()
        console.send("/nick guest-6")
        self.pump()
        self.redis.guests = 5
        self.assertEqual(self.b.connect().name, "guest-7")

    def test_nickTakenElsewhere(self) -> None:
        """
        /nick to a name a member of another daemon has is refused, in any case.
        """
        alice = self.member(self.a, "alice")
        self.member(self.b, "bob")
        entries = len(self.redis.entries)
        alice.send("/nick bob", "/nick BOB")
        self.assertEqual(alice.lines(), ["ERR the name bob is taken", "ERR the name BOB is taken"])
        self.pump()
        self.assertEqual(alice.name, "alice")
        self.assertEqual(len(self.redis.entries), entries)

    def test_claimRace(self) -> None:
        """
        Two daemons' members ask for the same name at once: the log's first
        claim wins, the other keeps its name and is told the name is taken
        -- never told it has it first.
        """
        winner, loser = self.a.connect(), self.b.connect()
        watcher = self.c.connect()
        self.pump()
        self.readAll()
        winner.send("/nick carol")
        loser.send("/nick carol")
        self.pump()
        self.assertEqual(winner.lines(), ["* You are now carol."])
        self.assertEqual(
            sorted(loser.lines()),  # (in the order B learns them)
            ["* guest-1 is now known as carol", "ERR the name carol is taken"],
        )
        self.assertEqual(loser.name, "guest-2")
        self.assertEqual(watcher.lines(), ["* guest-1 is now known as carol"])
        self.assertEqual(self.redis.names["carol"], ("A", "carol"))
        self.assertEqual(self.redis.names["guest-2"], ("B", "guest-2"))
        for client in (winner, loser, watcher):
            self.assertEqual(whoIs(client), ["carol", "guest-2", "guest-3"])

    def test_consoleRace(self) -> None:
        """
        Two consoles joining at once on two daemons both ask for C{operator}:
        the one that loses gets a fresh name, and is told why.
        """
        first, second = self.a.console(), self.b.console()
        self.pump()
        self.assertEqual(first.name, "operator")
        self.assertEqual(
            second.lines()[-2:],
            [
                "* the name operator is taken on another server; you are now guest-1.",
                "* operator has joined",
            ],
        )
        self.assertEqual(second.name, "guest-1")
        self.assertEqual(whoIs(first), ["guest-1", "operator"])
        self.assertEqual(whoIs(second), ["guest-1", "operator"])

    def test_nickAtOnce(self) -> None:
        """
        A client that sends /nick as soon as it connects (the netlab client
        with C{--nick}) leaves no trace of its guest name: /who lists it once,
        on its daemon as on the others.
        """
        ann = self.member(self.a, "ann")
        alice = self.a.connect()
        alice.send("/nick alice")
        observer = self.b.connect()
        self.pump()
        self.assertEqual(whoIs(observer), ["alice", "ann", "guest-3"])
        self.assertEqual(whoIs(ann), ["alice", "ann", "guest-3"])
        self.assertEqual(len(self.a.room), 3)

    def test_nameTakenBackAtOnce(self) -> None:
        """
        A name given up and taken at once by another member of the same daemon
        stays taken: it is still listed, and nobody else may take it.
        """
        alice = self.member(self.a, "alice")
        ann = self.member(self.a, "ann")
        dora = self.member(self.a, "dora")
        alice.send("/quit")
        ann.send("/nick alice")
        self.pump()
        self.assertEqual(whoIs(dora), ["alice", "dora"])
        dora.send("/nick alice")
        self.assertEqual(dora.lines(), ["ERR the name alice is taken"])
        self.pump()
        self.readAll()
        self.member(self.b, "bob").send("hello")
        self.pump()
        self.assertEqual(ann.lines(), ["<bob> hello"])


class CommandTests(OnePerDaemonTestCase):
    """
    Commands that reach members of other daemons.
    """

    def test_who(self) -> None:
        """
        /who lists everyone on every daemon.
        """
        for client in (self.alice, self.bob, self.carol):
            client.send("/who")
            self.assertEqual(client.lines(), ["* 3 in the room: alice, bob, carol"])

    def test_msg(self) -> None:
        """
        /msg reaches a member of another daemon, and no one else.
        """
        self.alice.send("/msg bob hi", "/msg nobody hi")
        self.assertEqual(
            self.alice.lines(), ["[private to bob] hi", "ERR no one called nobody is here"]
        )
        self.pump()
        self.assertEqual(self.bob.lines(), ["[private] <alice> hi"])
        self.assertEqual(self.carol.lines(), [])
        self.assertEqual(self.alice.lines(), [])

    def test_kick(self) -> None:
        """
        The console on A kicks a member of B: it is told, its daemon reports
        the kick and closes its connection, and everyone hears why it left.
        """
        console = self.a.console()
        self.pump()
        self.readAll()
        monitor = self.bob.transport.monitored = Monitor()
        console.send("/kick bob")
        self.pump()
        self.assertEqual(self.bob.lines(), ["ERR you were kicked by operator"])
        self.assertTrue(self.bob.transport.disconnecting)
        self.assertEqual(monitor.limits, [("kicked by operator", KICK)])
        for client in (console, self.alice, self.carol):
            self.assertEqual(client.lines(), ["* bob has left (kicked by operator)"])
        self.assertNotIn("bob", self.redis.names)

    def test_wall(self) -> None:
        """
        /wall reaches everyone on every daemon.
        """
        console = self.a.console()
        self.pump()
        self.readAll()
        console.send("/wall class ends at five")
        self.pump()
        for client in (self.alice, self.bob, self.carol):
            self.assertEqual(client.lines(), ["*** operator: class ends at five"])
        self.assertEqual(console.lines(), [])


class HistoryTests(SharedRoomTestCase):
    """
    Newcomers get the room's recent lines, wherever they were said.
    """

    def test_fromAnotherDaemon(self) -> None:
        """
        A daemon started later replays to its newcomers what was said before it
        connected (the log's history) and after (what it read), but no joins
        and no private messages.
        """
        alice = self.member(self.a, "alice")
        self.member(self.a, "ann")
        alice.send("one", "/msg ann psst", "two")
        self.pump()
        later = self.daemon("D")
        alice.send("three")
        self.pump()
        history = ["* last 3 messages:", "<alice> one", "<alice> two", "<alice> three"]
        for daemon in (later, self.b):  # (B was there all along)
            newcomer = daemon.connect()
            welcome = [GREETING, YOU_ARE.format(newcomer.name)]
            self.assertEqual(newcomer.lines(), welcome + history)


class LinkTests(SharedRoomTestCase):
    """
    While A's link to the log is down: members are told, lines wait (up to
    a bound), names stay as they are.
    """

    hold = 2

    def setUp(self) -> None:
        super().setUp()
        self.alice = self.member(self.a, "alice")
        self.ann = self.member(self.a, "ann")
        self.bob = self.member(self.b, "bob")

    def linkDown(self) -> None:
        """
        A's link goes down; its members are told.
        """
        self.a.log.linkDown()
        self.readAll()

    def test_lostAndBack(self) -> None:
        """
        Members are told once that the link is lost; their lines wait, and
        go out in order once it is back, which they are told too.
        """
        self.a.log.linkDown()
        self.a.room.linkLost()  # (a log may say so again: a reconnection failed)
        self.assertEqual(self.alice.lines(), [LINK_LOST])
        self.assertEqual(self.ann.lines(), [LINK_LOST])
        self.alice.send("one", "two")
        self.pump()
        self.assertEqual(self.ann.lines(), [])
        self.assertEqual(self.bob.lines(), [])
        self.a.log.linkUp()
        self.pump()
        self.assertEqual(self.alice.lines(), [LINK_BACK])
        self.assertEqual(self.ann.lines(), [LINK_BACK, "<alice> one", "<alice> two"])
        self.assertEqual(self.bob.lines(), ["<alice> one", "<alice> two"])
        self.a.log.linkDown()
        self.assertEqual(self.alice.lines(), [LINK_LOST])

    def test_catchUp(self) -> None:
        """
        What was said while A was cut off reaches its members when it is back.
        """
        self.linkDown()
        self.bob.send("news")
        self.pump()
        self.a.log.linkUp()
        self.pump()
        for client in (self.alice, self.ann):
            self.assertEqual(client.lines(), [LINK_BACK, "<bob> news"])

    def test_holdBound(self) -> None:
        """
        Past the log's bound, a line (or a private message to another
        daemon) is refused, and its sender told.
        """
        self.linkDown()
        self.alice.send("one", "two", "three", "/msg bob psst")
        self.assertEqual(self.alice.lines(), [NOT_SENT, NOT_SENT])
        self.a.log.linkUp()
        self.pump()
        self.assertEqual(self.bob.lines(), ["<alice> one", "<alice> two"])

    def test_nickWhileDown(self) -> None:
        """
        /nick is refused while the link is down.
        """
        self.linkDown()
        self.alice.send("/nick alicia")
        self.assertEqual(
            self.alice.lines(), ["ERR the link to the shared room is down; try again soon"]
        )
        self.assertEqual(self.alice.name, "alice")

    def test_silentVisitor(self) -> None:
        """
        A member who comes and goes while the link is down, saying nothing,
        is never heard of.
        """
        self.linkDown()
        visitor = self.a.connect()
        name = visitor.name
        visitor.disconnect()
        self.a.log.linkUp()
        self.pump()
        self.assertEqual(self.ann.lines(), [LINK_BACK])
        self.assertEqual(self.bob.lines(), [])
        self.assertEqual([entry for entry in self.redis.entries if entry.get("a") == name], [])

    def test_joinWhileDown(self) -> None:
        """
        A member who joins while the link is down is told so after its
        welcome, and announced once the link is back.
        """
        self.linkDown()
        newcomer = self.a.connect()
        name = newcomer.name
        self.assertEqual(newcomer.lines(), [GREETING, YOU_ARE.format(name), LINK_LOST])
        self.a.log.linkUp()
        self.pump()
        self.assertEqual(newcomer.lines(), [LINK_BACK])
        self.assertEqual(self.ann.lines(), [LINK_BACK, f"* {name} has joined"])
        self.assertEqual(self.bob.lines(), [f"* {name} has joined"])

    def test_joinAndSpeakWhileDown(self) -> None:
        """
        A member who joins and speaks while the link is down is announced
        once, everywhere, before its line.
        """
        self.linkDown()
        newcomer = self.a.connect()
        name = newcomer.name
        newcomer.send("hello")
        self.a.log.linkUp()
        self.pump()
        self.assertEqual(self.bob.lines(), [f"* {name} has joined", f"<{name}> hello"])
        self.assertEqual(self.ann.lines(), [LINK_BACK, f"* {name} has joined", f"<{name}> hello"])


class RecoveryTests(OnePerDaemonTestCase):
    """
    Redis restarted empty, daemons lost, this daemon taken for lost.  (Also
    C{ann} on A and C{dave} on C.)
    """

    def setUp(self) -> None:
        super().setUp()
        self.ann = self.member(self.a, "ann")
        self.dave = self.member(self.c, "dave")

    def restart(self) -> None:
        """
        Redis restarts empty, and every daemon's link comes back.
        """
        self.redis.restart()
        for daemon in self.daemons:
            daemon.log.linkUp()
        self.pump()

    def test_redisRestarted(self) -> None:
        """
        After Redis restarted empty, every daemon claims its members' names
        again, and the others hear no news of them.
        """
        self.restart()
        self.assertEqual(self.bob.lines(), [LINK_LOST, LINK_BACK])
        self.assertEqual(
            self.redis.names,
            {
                "alice": ("A", "alice"),
                "ann": ("A", "ann"),
                "bob": ("B", "bob"),
                "carol": ("C", "carol"),
                "dave": ("C", "dave"),
            },
        )
        self.alice.send("still here")
        self.pump()
        self.assertEqual(self.bob.lines(), ["<alice> still here"])

    def test_redisRestartedNoNewsHere(self) -> None:
        """
        Nor do the other members of a daemon that claims its names again.
        """
        self.restart()
        self.assertEqual(self.alice.lines(), [LINK_LOST, LINK_BACK])
        self.assertEqual(self.carol.lines(), [LINK_LOST, LINK_BACK])

    def test_daemonLost(self) -> None:
        """
        C's link dies and its heartbeat expires: A frees its names, and
        everyone is told once that its members left.
        """
        self.c.log.linkDown()
        self.redis.expire("C")
        self.assertEqual(self.a.log.reap("C"), ["carol", "dave"])
        self.pump()
        gone = ["* carol has left (server lost)", "* dave has left (server lost)"]
        self.assertEqual(self.alice.lines(), gone)
        self.assertEqual(self.bob.lines(), gone)
        self.assertEqual(self.b.log.reap("C"), [])
        self.pump()
        self.assertEqual(self.bob.lines(), [])
        self.assertEqual(whoIs(self.bob), ["alice", "ann", "bob"])

    def test_daemonLostWithRedis(self) -> None:
        """
        A daemon that did not come back after Redis restarted has no names
        in the log to free: each daemon that finds it gone says its members
        left, once.
        """
        self.redis.restart()
        self.a.log.linkUp()
        self.b.log.linkUp()
        self.pump()
        self.readAll()
        gone = ["* carol has left (server lost)", "* dave has left (server lost)"]
        self.assertEqual(self.a.log.reap("C"), [])
        self.a.log.reap("C")  # (and again, at its next heartbeat)
        self.assertEqual(self.b.log.reap("C"), [])
        self.pump()
        self.assertEqual(self.alice.lines(), gone)
        self.assertEqual(self.bob.lines(), gone)

    def test_reapedButAlive(self) -> None:
        """
        C's heartbeat expired but its members are still there: when it reads
        that they left, it claims their names again, and the others see them
        come back.
        """
        self.redis.expire("C")
        self.a.log.reap("C")
        self.pump()
        self.assertEqual(self.redis.names["carol"], ("C", "carol"))
        self.assertEqual(self.redis.names["dave"], ("C", "dave"))
        self.assertEqual(
            self.bob.lines(),
            [
                "* carol has left (server lost)",
                "* dave has left (server lost)",
                "* carol has joined",
                "* dave has joined",
            ],
        )
        self.carol.send("still here")
        self.pump()
        self.assertEqual(self.alice.lines()[-1], "<carol> still here")
        self.assertEqual(whoIs(self.bob), ["alice", "ann", "bob", "carol", "dave"])

    def test_reapedButAliveNoNewsHere(self) -> None:
        """
        C's own members, who saw no one leave, see no one join either.
        """
        self.redis.expire("C")
        self.a.log.reap("C")
        self.pump()
        self.assertEqual(self.carol.lines(), [])
        self.assertEqual(self.dave.lines(), [])

    def test_reapedWhileCutOff(self) -> None:
        """
        C was cut off long enough to be taken for lost: when its link is
        back it claims its members' names again, and the others see them
        leave and come back once.
        """
        self.cutOffAndReaped()
        self.readAll()
        self.c.log.linkUp()
        self.pump()
        self.assertEqual(self.bob.lines(), ["* carol has joined", "* dave has joined"])
        self.assertEqual(self.redis.names["carol"], ("C", "carol"))
        self.dave.send("back")
        self.pump()
        self.assertEqual(self.alice.lines()[-1], "<dave> back")

    def test_reapedWhileCutOffNoNewsHere(self) -> None:
        """
        C's own members hear nothing of each other when C comes back.
        """
        self.cutOffAndReaped()
        self.readAll()
        self.c.log.linkUp()
        self.pump()
        self.assertEqual(self.dave.lines(), [LINK_BACK])

    def cutOffAndReaped(self) -> None:
        """
        C is cut off, and A takes it for lost (its heartbeat expired).
        """
        self.c.log.linkDown()
        self.redis.expire("C")
        self.a.log.reap("C")
        self.pump()

    def cutOffAndTaken(self) -> None:
        """
        C is cut off and taken for lost, and bob (on B) takes the name carol.
        """
        self.cutOffAndReaped()
        self.bob.send("/nick carol")
        self.pump()
        self.readAll()

    def assertRenamed(self) -> None:
        """
        C's carol was given a fresh name, once, and told why; the room has
        one carol (bob), and the fresh name is C's.
        """
        told = [line for line in self.carol.lines() if "you are now" in line]
        self.assertEqual(told, ["* the name carol went to someone else; you are now guest-6."])
        self.assertEqual(self.carol.name, "guest-6")
        self.assertEqual(self.redis.names["carol"], ("B", "carol"))
        self.assertEqual(self.redis.names["guest-6"], ("C", "guest-6"))
        self.carol.send("hi")
        self.pump()
        self.assertEqual(self.alice.lines()[-1], "<guest-6> hi")
        for client in (self.alice, self.bob, self.dave):
            self.assertEqual(whoIs(client), ["alice", "ann", "carol", "dave", "guest-6"])

    def test_nameTakenWhileCutOff(self) -> None:
        """
        A name of a member of C went to someone else while C was cut off:
        when C is back, its member gets a fresh name, and is told why.
        """
        self.cutOffAndTaken()
        self.c.log.linkUp()
        self.pump()
        self.assertRenamed()

    def test_nameTakenWhileCutOffReadFirst(self) -> None:
        """
        The same when C reads the other daemon's claim before the log has
        answered its own.
        """
        self.cutOffAndReaped()
        self.bob.send("/nick carol")
        self.c.log.linkUp()
        self.b.log.send()
        self.c.log.read()
        self.pump()
        self.assertRenamed()

    def test_heldLinesUnderALostName(self) -> None:
        """
        Lines held while C was cut off, under a name that went to someone
        else meanwhile, are not sent under it: their sender is told.
        """
        self.c.log.linkDown()
        self.carol.send("hello")
        self.cutOffAndTaken()
        self.c.log.linkUp()
        self.pump()
        told = [line for line in self.carol.lines() if "you are now" in line or "ERR" in line]
        self.assertEqual(
            sorted(told),  # (in the order C learns each: here, Redis refuses the line first)
            [
                "* the name carol went to someone else; you are now guest-6.",
                "ERR your name was lost with the link; not sent",
            ],
        )
        self.assertEqual(self.lines(), [])


class ShutdownTests(SharedRoomTestCase):
    """
    A daemon stopping: its members leave, and everyone is told why.
    """

    def test_shutdown(self) -> None:
        alice = self.member(self.a, "alice")
        ann = self.member(self.a, "ann")
        bob = self.member(self.b, "bob")
        for client in (alice, ann):
            client.protocol.serverShutdown()
        self.pump()
        self.assertEqual(alice.lines(), ["* server shutting down"])
        self.assertEqual(
            bob.lines(),
            ["* alice has left (server shutting down)", "* ann has left (server shutting down)"],
        )
        self.assertEqual(self.redis.names, {"bob": ("B", "bob")})
