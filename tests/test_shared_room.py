"""
System tests of one chat room shared by several daemons through Redis
(C{--chat-redis URL}), against real daemons (C{twistd -n netlab}) and a real
C{redis-server} (L{tests.redisserver}).

Every daemon gets a I{watcher}: a line client that joins first and only
reads.  A member counts as in the room once every watcher has been told that
it joined (each daemon has then read its join from the log), and a new name
once every watcher has been told of the change; so no test depends on how
quickly the log goes round.  Most tests start their own Redis and daemons (a
L{Cluster}); L{ClusterTests} share one, and each of its tests waits at the end
until its members have left every daemon's room.  Every wait is bounded
(socket timeouts and deadlines); the only sleeps pace senders or stand for an
outage's length.
"""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
import unittest
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import ClassVar

from twisted.trial.unittest import SynchronousTestCase

from tests.daemon import Daemon, freePort, run
from tests.faults import NO_CHAT_LIMITS
from tests.redisserver import RedisServer, missing

#: Upper bound for any one wait (a line, a notice, a start); a guard against
#: hanging tests, not a performance expectation.
WAIT = 20.0

#: What members are told when the link to Redis goes and comes back.
LINK_LOST = b"* link to the shared room lost; reconnecting"
LINK_BACK = b"* link to the shared room is back"

#: What a member is told when its line cannot wait for the link.
NOT_SENT = b"ERR room link down, not sent"

#: What the daemon logs once its link to the room is up.
LINKED = "is on Redis at"

#: A room message as a member sees it: the sender's name and the text.
SAID = re.compile(r"<([A-Za-z0-9_-]+)> (.*)")

#: The answer to a command: C{/who}'s, C{/nick}'s, C{/msg}'s, or an C{ERR}.
ANSWER = re.compile(
    rb"(?m)^(?:\* \d+ in the room: |\* You are now |\[private to |ERR )[^\r\n]*\r\n"
)

#: C{/who}'s answer.
WHO = re.compile(rb"(?m)^\* \d+ in the room: [^\r\n]*\r\n")

#: A password for Redis that must never show.
SECRET = "s3cret-Pa55word"

#: The shared room's keys in Redis (the default room).
NAMES_KEY = "netlab:room:netlab:names"
LOG_KEY = "netlab:room:netlab:log"
HEARTBEATS = "netlab:room:netlab:daemon:*"


class Member:
    """
    A line client (telnet, C{nc}) in the room: a blocking socket that keeps
    everything it read (L{transcript}) and what it has not consumed yet.

    @ivar name: its name in the room, as the room last told it.
    """

    def __init__(self, sock: socket.socket, name: str = "") -> None:
        self.sock = sock
        self.name = name
        self.buffer = b""
        self.transcript = b""

    def _receive(self, deadline: float, waitingFor: object) -> None:
        """
        Read once, before C{deadline}; fail if nothing comes or the server closes.
        """
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(
                f"{self.name}: {waitingFor!r} not received; got {self.transcript[-800:]!r}"
            )
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 16)
        except TimeoutError:
            chunk = None
        if chunk is None:
            raise AssertionError(
                f"{self.name}: {waitingFor!r} not received within the deadline; "
                f"got {self.transcript[-800:]!r}"
            )
        if not chunk:
            raise AssertionError(
                f"{self.name}: closed before {waitingFor!r}; got {self.transcript[-800:]!r}"
            )
        self.buffer += chunk
        self.transcript += chunk

    def until(self, marker: bytes, timeout: float = WAIT) -> bytes:
        """
        Read up to and including C{marker}; what follows is kept for the next read.
        """
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            self._receive(deadline, marker)
        end = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:end], self.buffer[end:]
        return data

    def waitFor(self, marker: bytes, timeout: float = WAIT, since: int = 0) -> None:
        """
        Read until C{marker} is in the transcript (from offset C{since}).
        """
        deadline = time.monotonic() + timeout
        while self.transcript.find(marker, since) < 0:
            self._receive(deadline, marker)

    def waitUntil(self, done: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """
        Read until C{done()} is true (it looks at the transcript).
        """
        deadline = time.monotonic() + timeout
        while not done():
            self._receive(deadline, what)

    def rest(self, timeout: float = WAIT) -> bytes:
        """
        Everything until the server closes the connection.
        """
        deadline = time.monotonic() + timeout
        data, self.buffer = self.buffer, b""
        while True:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                raise AssertionError(f"{self.name}: not closed; got {data[-800:]!r}") from None
            except ConnectionResetError:
                chunk = b""
            self.transcript += chunk
            if not chunk:
                return data
            data += chunk

    def send(self, text: str) -> None:
        """
        Send one line.
        """
        self.sock.sendall(text.encode("utf-8") + b"\r\n")

    def ask(self, command: str, answer: re.Pattern[bytes] | None = None) -> bytes:
        """
        Send a command and read up to and including its answer (a line that
        matches C{answer}; by default what C{/who}, C{/nick} or C{/msg} answer,
        or an C{ERR}): a barrier for what the daemon sent before it.
        """
        self.send(command)
        return self.untilMatch(answer or ANSWER)

    def untilMatch(self, pattern: re.Pattern[bytes], timeout: float = WAIT) -> bytes:
        """
        Read up to and including the first line that matches C{pattern}.
        """
        deadline = time.monotonic() + timeout
        while (found := pattern.search(self.buffer)) is None:
            self._receive(deadline, pattern.pattern)
        data, self.buffer = self.buffer[: found.end()], self.buffer[found.end() :]
        return data

    def who(self) -> list[str]:
        """
        The names C{/who} lists.
        """
        return whoNames(self.ask("/who", WHO))

    def discard(self) -> None:
        """
        Count everything received so far as read.
        """
        self.buffer = b""

    def lines(self) -> list[str]:
        """
        Every complete line received so far.
        """
        return self.transcript.decode("utf-8").split("\r\n")[:-1]

    def said(self, pattern: str = "") -> list[tuple[str, str]]:
        """
        The room messages received so far, as (sender, text), whose text
        matches C{pattern} (a regular expression, from its start).
        """
        return said(self.lines(), pattern)


class LockstepMember:
    """
    A lockstep client, as in the course: a bare message, then one C{recv(1024)}
    for its reply; never read otherwise.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(WAIT)
        self.welcome = sock.recv(1024).decode("ascii")
        found = re.search(r"\* You are ([A-Za-z0-9_-]+)\.", self.welcome)
        if found is None:
            raise AssertionError(f"no name in the welcome {self.welcome!r}")
        self.name = found.group(1)
        self.received: list[str] = []

    def ask(self, message: str) -> str:
        """
        Send C{message} (no line end) and return the one reply.
        """
        self.sock.sendall(message.encode("ascii"))
        reply = self.sock.recv(1024)
        if not reply:
            raise AssertionError(f"{self.name}: the server closed instead of replying")
        text = reply.decode("ascii")
        self.received += text.split("\n")
        return text

    def said(self, pattern: str = "") -> list[tuple[str, str]]:
        """
        The room messages in its replies so far, as (sender, text).
        """
        return said(self.received, pattern)

    def pollUntil(self, done: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """
        Ask C{/who} (which is no room message) until C{done()} is true.
        """
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {what} not received; got {self.received[-30:]}")
            self.ask("/who")


def said(lines: Iterable[str], pattern: str = "") -> list[tuple[str, str]]:
    """
    The room messages among C{lines}, as (sender, text), whose text matches
    C{pattern}.
    """
    found = []
    for line in lines:
        message = SAID.fullmatch(line)
        if message is not None and re.match(pattern, message.group(2)):
            found.append((message.group(1), message.group(2)))
    return found


def whoNames(answer: bytes) -> list[str]:
    """
    The names in a C{/who} answer (C{* N in the room: a, b, c}), checking N.
    """
    found = re.search(rb"\* (\d+) in the room: ([^\r\n]*)", answer)
    if found is None:
        raise AssertionError(f"no /who answer in {answer!r}")
    names = found.group(2).decode("ascii").split(", ")
    if int(found.group(1)) != len(names):
        raise AssertionError(f"/who counts {found.group(1)} but lists {names}")
    return names


def consistent(first: Sequence, second: Sequence) -> bool:
    """
    Whether what two readers both received came in the same order.
    """
    common = set(first) & set(second)
    return [x for x in first if x in common] == [x for x in second if x in common]


def waitForLog(daemon: Daemon, text: str, timeout: float = WAIT) -> None:
    """
    Wait until C{daemon} has logged C{text}.
    """
    deadline = time.monotonic() + timeout
    while text not in daemon.log():
        if not daemon.alive():
            raise AssertionError(f"the daemon exited:\n{daemon.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not logged:\n{daemon.log()[-3000:]}")
        time.sleep(0.02)


def connectMember(daemon: Daemon) -> Member:
    """
    A line client in C{daemon}'s room, welcomed: it said it is one (an empty
    line) and knows its name.
    """
    member = Member(daemon.connect("chat", timeout=WAIT))
    member.send("")
    welcome = member.until(b"/help for the commands.") + member.until(b"\r\n")
    found = re.search(rb"\* You are ([A-Za-z0-9_-]+)\.", welcome)
    if found is None:
        member.sock.close()
        raise AssertionError(f"no name in the welcome {welcome!r}")
    member.name = found.group(1).decode("ascii")
    return member


class Cluster:
    """
    A Redis and the daemons that share a room in it, each daemon with a
    watcher; L{close} stops everything it started.

    @ivar redis: the Redis, once started.
    @ivar daemons: the daemons started, in order.
    @ivar watchers: each daemon's watcher.
    @ivar console: the operator console, if one was attached.
    """

    def __init__(self) -> None:
        self.redis: RedisServer | None = None
        self.daemons: list[Daemon] = []
        self.watchers: dict[Daemon, Member] = {}
        self.console: Member | None = None
        self._closers: list[Callable[[], None]] = []

    def startRedis(self, password: str | None = None) -> RedisServer:
        """
        Start the Redis (with C{--requirepass PASSWORD} if given).
        """
        self.redis = RedisServer.start(password)
        self._closers.append(self.redis.close)
        return self.redis

    def startDaemons(
        self, extras: Sequence[Sequence[str]], url: str | None = None, watch: bool = True
    ) -> list[Daemon]:
        """
        Start one daemon per item of C{extras} (its own options), all at once,
        with their room in Redis at C{url} (by default L{redis}'s); wait until
        each serves its chat port and has joined the room; then give each a
        watcher (unless not C{watch}).
        """
        url = url or self.redis.url
        common = ["--chat", "{port}", "--max-per-peer", "0", *NO_CHAT_LIMITS]
        daemons = []
        for extra in extras:
            daemon = Daemon.start([*common, "--chat-redis", url, *extra], wait=False)
            self._closers.append(daemon.close)
            daemons.append(daemon)
        for daemon in daemons:
            daemon.waitForPort(daemon.port("chat"))
            waitForLog(daemon, LINKED)
        self.daemons += daemons
        if watch:
            for daemon in daemons:
                watcher = connectMember(daemon)
                self._closers.append(watcher.sock.close)
                self.watchers[daemon] = watcher
        return daemons

    def attachConsole(self, daemon: Daemon) -> Member:
        """
        Connect to the operator console of C{daemon} (started with
        L{CONSOLE}), once every daemon knows it is in.
        """
        sock = socket.socket(socket.AF_UNIX)
        self._closers.append(sock.close)
        sock.settimeout(WAIT)
        sock.connect(str(Path(daemon._tmp.name) / "operator.sock"))
        console = Member(sock, "operator")
        console.send("")
        console.until(b"You are operator.")
        for watcher in self.watchers.values():
            watcher.until(b"* operator has joined\r\n")
        self.console = console
        return console

    def residents(self) -> set[str]:
        """
        The names of the watchers and the console.
        """
        names = {watcher.name for watcher in self.watchers.values()}
        return names | ({self.console.name} if self.console is not None else set())

    def close(self) -> None:
        """
        Close the watchers, stop the daemons, then Redis.
        """
        failure: Exception | None = None
        while self._closers:
            try:
                self._closers.pop()()
            except Exception as e:  # the rest must still be stopped
                failure = failure or e
        if failure is not None:
            raise failure


#: Options of a daemon with an operator console (L{Cluster.attachConsole}).
CONSOLE = ("--chat-operator", "unix:{tmp}/operator.sock")


class SharedRoomTestCase(SynchronousTestCase):
    """
    Tests on a L{Cluster}: one of their own (in C{cluster}), or the class's
    (C{shared}), which each test leaves as it found it: its members have
    left everyone's room when it ends.

    @ivar members: the members this test joined.
    """

    #: The cluster the class's tests share, if they share one.
    shared: ClassVar[Cluster | None] = None

    @classmethod
    def shareCluster(cls) -> Cluster:
        """
        In C{setUpClass}: a cluster for the class's tests, closed after them.
        """
        reason = missing()
        if reason is not None:
            raise unittest.SkipTest(reason)
        cls.shared = Cluster()
        cls.addClassCleanup(cls.shared.close)
        return cls.shared

    def setUp(self) -> None:
        reason = missing()
        if reason is not None:
            self.skipTest(reason)
        if self.shared is None:
            self.cluster = Cluster()
            self.addCleanup(self.cluster.close)
        else:
            self.cluster = self.shared
            self.addCleanup(self.leaveAll)
        self.members: list[Member | LockstepMember] = []
        self.marks = {w: len(w.transcript) for w in self.cluster.watchers.values()}

    def join(self, daemon: Daemon, nick: str | None = None) -> Member:
        """
        A line client in the room, once every daemon knows it (and its C{nick}).
        """
        member = connectMember(daemon)
        self.addCleanup(member.sock.close)
        self.members.append(member)
        self.confirm(f"* {member.name} has joined")
        if nick is not None:
            self.rename(member, nick)
        return member

    def joinLockstep(self, daemon: Daemon) -> LockstepMember:
        """
        A lockstep client in the room, once every daemon knows it.
        """
        sock = daemon.connect("chat", timeout=WAIT)
        self.addCleanup(sock.close)
        member = LockstepMember(sock)
        self.members.append(member)
        self.confirm(f"* {member.name} has joined")
        return member

    def rename(self, member: Member, nick: str) -> None:
        """
        C{/nick NICK}, once every daemon knows.
        """
        old = member.name
        answer = member.ask(f"/nick {nick}")
        self.assertTrue(answer.endswith(f"* You are now {nick}.\r\n".encode()), answer)
        member.name = nick
        self.confirm(f"* {old} is now known as {nick}", exclude=member)

    def confirm(self, notice: str, exclude: Member | None = None, inOrder: bool = True) -> None:
        """
        Wait until every watcher (but C{exclude}) has been sent C{notice}: the
        next one after what was confirmed before, or, if not C{inOrder},
        anywhere in what it was sent during this test.
        """
        line = notice.encode("utf-8") + b"\r\n"
        for watcher in self.cluster.watchers.values():
            if watcher is exclude:
                continue
            if inOrder:
                watcher.until(line)
            else:
                watcher.waitFor(line, since=self.marks.get(watcher, 0))

    def leaveAll(self) -> None:
        """
        Close this test's members and wait until every daemon knows they left.
        """
        for member in self.members:
            member.sock.close()
        deadline = time.monotonic() + WAIT
        for member in self.members:
            for watcher in self.cluster.watchers.values():
                left = f"* {member.name} has left".encode()
                watcher.waitFor(left, deadline - time.monotonic(), self.marks.get(watcher, 0))

    def assertNamesInRedis(self, names: Iterable[str]) -> None:
        """
        The room's names in Redis are C{names} (compared as the room does:
        without case).
        """
        flat = self.cluster.redis.command("HGETALL", NAMES_KEY)
        held = {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}
        self.assertEqual(sorted(held), sorted(name.lower() for name in names), held)

    def streamLines(self, pattern: str = "") -> list[tuple[str, str]]:
        """
        The room messages in the log in Redis, in its order, each once (an
        entry sent again after a lost reply counts once, as readers count it).
        """
        seen, lines = set(), []
        for _, flat in self.cluster.redis.command("XRANGE", LOG_KEY, "-", "+"):
            fields = dict(zip(flat[::2], flat[1::2], strict=True))
            if fields.get("t") != "line":
                continue
            origin = (fields.get("d"), fields.get("n"))
            if origin in seen:
                continue
            seen.add(origin)
            lines += said([fields["x"]], pattern)
        return lines

    def assertCleanLogs(self) -> None:
        """
        No daemon of the cluster logged a traceback.
        """
        for daemon in self.cluster.daemons:
            daemon.assertCleanLog()


class ClusterTests(SharedRoomTestCase):
    """
    Three daemons on one Redis (the first with an operator console), shared
    by the tests, with line and lockstep clients on each.
    """

    @classmethod
    def setUpClass(cls) -> None:
        cluster = cls.shareCluster()
        cluster.startRedis()
        cls.a, cls.b, cls.c = cluster.startDaemons([CONSOLE, (), ()])
        cls.console = cluster.attachConsole(cls.a)

    def test_oneOrderForEveryone(self) -> None:
        """
        Three clients on three daemons (two line clients, one lockstep) say 30
        lines each at once: every member on every daemon gets every line of
        the others exactly once, all in the order of the log in Redis.
        """
        readers = [self.join(daemon) for daemon in (self.a, self.b, self.c)]
        senderA, senderB = self.join(self.a), self.join(self.b)
        lockstep = self.joinLockstep(self.c)
        # Short lines: all 60 of the line clients' fit in one lockstep reply
        # (1,024 bytes), however late the lockstep client asks.
        count, pattern = 30, r"[abl]\d\d$|p\d+$|END$"

        def paced(member: Member, tag: str) -> None:
            for n in range(count):
                member.send(f"{tag}{n:02d}")
                time.sleep(0.01)

        def lockstepSays() -> None:
            for n in range(count):
                lockstep.ask(f"l{n:02d}")
            others = {
                (m.name, f"{t}{n:02d}")
                for m, t in ((senderA, "a"), (senderB, "b"))
                for n in range(count)
            }
            polls = 0
            deadline = time.monotonic() + WAIT
            while not others <= set(lockstep.said()) and time.monotonic() < deadline:
                lockstep.ask(f"p{polls}")
                polls += 1
            lockstep.ask("END")

        errors = runAll([lambda: paced(senderA, "a"), lambda: paced(senderB, "b"), lockstepSays])
        self.assertEqual(errors, [])
        members = [*self.cluster.watchers.values(), self.console, *readers, senderA, senderB]
        for member in members:
            member.waitFor(f"<{lockstep.name}> END\r\n".encode())
        order = self.streamLines(pattern)
        self.assertEqual(
            sorted(text for _, text in order if text[0] in "abl"),
            sorted(f"{t}{n:02d}" for t in "abl" for n in range(count)),
        )
        for member in [*members, lockstep]:
            expected = [line for line in order if line[0] != member.name]
            self.assertEqual(member.said(pattern), expected, member.name)
        self.assertFalse([line for line in lockstep.received if "earlier lines not shown" in line])
        self.assertCleanLogs()

    def test_historyFromTheLog(self) -> None:
        """
        A newcomer on another daemon -- a line client, a lockstep client, or
        one on a daemon started after the lines were said -- is shown the
        lines said on the first one as the newest of its history.
        """
        ann = self.join(self.a, nick="ann")
        for n in range(3):
            ann.send(f"story {n}")
        self.confirm("<ann> story 2")
        history = re.compile(
            rb"\* last \d+ messages:\r\n(?:<[^\r\n]*\r\n)*"
            rb"<ann> story 0\r\n<ann> story 1\r\n<ann> story 2\r\n"
        )
        newcomer = self.join(self.b)
        newcomer.waitUntil(lambda: history.search(newcomer.transcript) is not None, "history")
        lockstep = self.joinLockstep(self.c)
        self.assertIn("* last ", lockstep.welcome)
        self.assertTrue(
            lockstep.welcome.endswith("\n<ann> story 0\n<ann> story 1\n<ann> story 2"),
            lockstep.welcome,
        )
        (late,) = self.cluster.startDaemons([()], watch=False)
        self.addCleanup(late.close)
        latecomer = self.join(late)
        latecomer.waitUntil(lambda: history.search(latecomer.transcript) is not None, "history")
        self.assertCleanLogs()

    def test_numbersStayText(self) -> None:
        """
        Lines that look like numbers come out of Redis as they went in
        (txredisapi would turn C{42} into an integer unless told not to).
        """
        ann = self.join(self.a, nick="nums")
        reader = self.join(self.b)
        for line in ("42", "-7", "3.14", "007", "1e3"):
            ann.send(line)
        for line in ("42", "-7", "3.14", "007", "1e3"):
            reader.waitFor(f"<nums> {line}\r\n".encode())
        self.assertCleanLogs()

    def test_whoAcrossDaemons(self) -> None:
        """
        C{/who} on any daemon, from a line or a lockstep client, lists everyone
        on every daemon, once.
        """
        ann = self.join(self.a, nick="ann")
        bob = self.join(self.b, nick="bob")
        cat = self.join(self.c, nick="cat")
        lockstep = self.joinLockstep(self.c)
        everybody = self.cluster.residents() | {"ann", "bob", "cat", lockstep.name}
        for member in (ann, bob, cat, self.console):
            self.assertEqual(sorted(member.who()), sorted(everybody), member.name)
        self.assertEqual(sorted(whoNames(lockstep.ask("/who").encode())), sorted(everybody))
        self.assertNamesInRedis(everybody)
        self.assertCleanLogs()

    def test_privateMessages(self) -> None:
        """
        C{/msg} reaches a member of another daemon (a line or a lockstep
        client), and nobody else.
        """
        ann = self.join(self.a, nick="ann")
        bob = self.join(self.b, nick="bob")
        lockstep = self.joinLockstep(self.c)
        self.assertIn(b"[private to bob] psst bob\r\n", ann.ask("/msg bob psst bob"))
        self.assertIn(b"[private] <ann> psst bob\r\n", bob.until(b"psst bob\r\n"))
        self.assertIn(b"[private to bob] again\r\n", ann.ask("/msg BOB again"))
        bob.until(b"[private] <ann> again\r\n")
        ann.ask(f"/msg {lockstep.name} psst lockstep")
        lockstep.pollUntil(
            lambda: "[private] <ann> psst lockstep" in lockstep.received, "the private message"
        )
        self.assertIn(b"ERR no one called nobody is here", ann.ask("/msg nobody hello"))
        ann.send("everyone")
        self.confirm("<ann> everyone")
        bob.until(b"<ann> everyone\r\n")
        for member in self.cluster.watchers.values():
            self.assertNotIn(b"psst", member.transcript)
        self.assertNotIn(b"psst lockstep", bob.transcript)
        self.assertCleanLogs()

    def test_operatorKickAndWall(self) -> None:
        """
        The console of one daemon C{/wall}s to members of every daemon and
        C{/kick}s a member of another; members cannot do either.
        """
        console = self.console
        bob = self.join(self.b, nick="bob")
        cat = self.join(self.c, nick="cat")
        lockstep = self.joinLockstep(self.c)
        console.send("/wall tea in five")
        for member in (bob, cat, *self.cluster.watchers.values()):
            member.until(b"*** operator: tea in five\r\n")
        lockstep.pollUntil(lambda: "*** operator: tea in five" in lockstep.received, "the /wall")
        self.assertIn(b"ERR /kick is only", bob.ask("/kick cat"))
        self.assertIn(b"ERR /wall is only", bob.ask("/wall hi"))
        self.assertIn(b"ERR the name operator is reserved", bob.ask("/nick operator"))
        self.assertIn(b"ERR no one called nobody is here", console.ask("/kick nobody"))
        console.send("/kick cat")
        self.assertTrue(cat.rest().endswith(b"ERR you were kicked by operator\r\n"))
        self.confirm("* cat has left (kicked by operator)", inOrder=False)
        console.waitFor(b"* cat has left (kicked by operator)\r\n")
        bob.waitFor(b"* cat has left (kicked by operator)\r\n")
        self.assertNotIn("cat", bob.who())
        self.assertCleanLogs()


class NameTests(SharedRoomTestCase):
    """
    Names on two daemons.
    """

    def test_namesUniqueAcrossDaemons(self) -> None:
        """
        A name taken on one daemon is taken on all (whatever its case); when
        members of two daemons ask for the same name at once, one gets it and
        the other keeps or gets another; afterwards C{/who} everywhere and the
        names in Redis are the names in use, each once.
        """
        self.cluster.startRedis()
        a, b = self.cluster.startDaemons([(), ()])
        ann = self.join(a, nick="ann")
        bob = self.join(a)
        cat = self.join(b)
        self.assertTrue(cat.ask("/nick ann").endswith(b"ERR the name ann is taken\r\n"))
        self.assertTrue(cat.ask("/nick ANN").endswith(b"ERR the name ANN is taken\r\n"))
        watcher = self.cluster.watchers[a]
        for attempt in range(30):  # (a race: each round takes one of the ways it can go)
            wanted = f"nick{attempt}"
            olds = {bob: bob.name, cat: cat.name}
            starts = {bob: len(bob.transcript), cat: len(cat.transcript)}
            first, second = (bob, cat) if attempt % 2 else (cat, bob)
            first.send(f"/nick {wanted}")
            second.send(f"/nick {wanted}")
            got = watcher.until(f" is now known as {wanted}\r\n".encode())
            winnerOld = got.rsplit(b"\r\n", 2)[-2].split(b" ")[1].decode()
            self.assertIn(winnerOld, olds.values(), got)
            winner = bob if olds[bob] == winnerOld else cat
            loser = cat if winner is bob else bob
            winner.name = wanted
            lost = re.compile(
                rf"ERR the name {wanted} is taken\r\n|\* the name {wanted} "
                rf"(?:was just taken on another server|went to someone else); "
                rf"you are now ([A-Za-z0-9_-]+)\.\r\n".encode()
            )
            found = lost.search(loser.untilMatch(lost))
            loser.name = found.group(1).decode() if found.group(1) else olds[loser]
            winner.ask("/who", WHO)
            told = winner.transcript[starts[winner] :]
            self.assertNotIn(b"was just taken", told)
            self.assertNotIn(b"went to someone else", told)
            bob.discard()
            cat.discard()
        self.rename(ann, "bob-2")
        for member in (bob, cat):  # after all they did, in the log: every daemon knows
            member.send("final")
            self.confirm(f"<{member.name}> final", exclude=member)
        names = self.cluster.residents() | {ann.name, bob.name, cat.name}
        for member in (ann, cat):
            self.assertEqual(sorted(member.who()), sorted(names), f"/who to {member.name}")
        self.assertNamesInRedis(names)
        self.assertCleanLogs()

    def test_nickRightAfterJoining(self) -> None:
        """
        A client that changes its name as soon as it is in, before its daemon
        has read its join back from the log (Redis is slow for a moment), is
        listed once, under its new name, by C{/who} on every daemon.
        """
        redis = self.cluster.startRedis()
        a, b = self.cluster.startDaemons([(), ()])
        redis.pause()
        try:
            quick = Member(a.connect("chat", timeout=WAIT), "quick")
            self.addCleanup(quick.sock.close)
            quick.send("\r\n/nick quick")
            welcome = quick.until(b"Type /help for the commands.\r\n")
        finally:
            redis.resume()
        quick.until(b"* You are now quick.\r\n")  # (once the log has it)
        guest = re.search(rb"\* You are (guest-\d+)\.", welcome).group(1).decode()
        self.confirm(f"* {guest} is now known as quick", exclude=quick)
        other = self.join(b)
        everybody = self.cluster.residents() | {"quick", other.name}
        self.assertEqual(sorted(other.who()), sorted(everybody))
        self.assertEqual(sorted(quick.who()), sorted(everybody))
        self.assertNamesInRedis(everybody)


class LostDaemonTests(SharedRoomTestCase):
    """
    Daemons that go: killed (SIGKILL), or stopped (SIGTERM).
    """

    def test_killedDaemon(self) -> None:
        """
        Within 20 s of a daemon's death, members of the others are told that
        its members left (server lost), once each, and their names are free.
        A daemon stopped with SIGTERM says goodbye for its members at once.
        """
        self.cluster.startRedis()
        a, b, c = self.cluster.startDaemons([(), (), ()])
        ann = self.join(a, nick="ann")
        bob = self.join(b, nick="bob")
        self.join(c, nick="carol")
        guest = self.join(c)
        lockstep = self.joinLockstep(c)
        watcherC = self.cluster.watchers.pop(c)
        start = time.monotonic()
        c.stop(signal.SIGKILL)
        gone = [watcherC.name, "carol", guest.name, lockstep.name]
        for name in gone:
            self.confirm(f"* {name} has left (server lost)", inOrder=False)
        elapsed = time.monotonic() - start
        print(f"\nkilled daemon: its members announced gone after {elapsed:.1f} s")
        self.assertLess(elapsed, 20)
        self.rename(bob, "carol")
        everybody = self.cluster.residents() | {"ann", "carol"}
        for member in (ann, bob):
            self.assertEqual(sorted(member.who()), sorted(everybody))
            for name in gone:
                notice = f"* {name} has left (server lost)\r\n".encode()
                self.assertEqual(member.transcript.count(notice), 1, (member.name, name))
        self.assertNamesInRedis(everybody)
        self.assertEqual(len(self.cluster.redis.command("KEYS", HEARTBEATS)), 2)

        watcherB = self.cluster.watchers.pop(b)
        self.assertEqual(b.stop(), 0)
        self.assertTrue(bob.rest().endswith(b"* server shutting down\r\n"))
        for name in ("carol", watcherB.name):
            self.confirm(f"* {name} has left (server shutting down)", inOrder=False)
            ann.waitFor(f"* {name} has left (server shutting down)\r\n".encode())
        everybody -= {"carol", watcherB.name}
        self.assertEqual(sorted(ann.who()), sorted(everybody))
        self.assertNamesInRedis(everybody)
        self.assertEqual(len(self.cluster.redis.command("KEYS", HEARTBEATS)), 1)
        a.assertCleanLog()
        b.assertCleanLog()


class OutageTests(SharedRoomTestCase):
    """
    Redis killed (SIGKILL) under the daemons and started again empty, or
    dropping their connections.
    """

    def test_redisRestartedEmpty(self) -> None:
        """
        Lines said while Redis is down are held and reach everyone exactly
        once when it is back (none refused: far fewer than the hold); each
        member is told once that the link was lost and once that it is back;
        C{/nick} is refused meanwhile; C{/who} lists everyone afterwards.  The
        Redis password shows in no log.
        """
        redis = self.cluster.startRedis(password=SECRET)
        daemons = self.cluster.startDaemons([(), (), ()])
        members = [self.join(daemon) for daemon in daemons]
        lockstep = self.joinLockstep(daemons[2])
        lines = [*members, *self.cluster.watchers.values()]
        for member in members:
            member.send(f"pre {member.name}")
        lockstep.ask(f"pre {lockstep.name}")
        for member in members:
            member.waitUntil(lambda m=member: len(m.said("pre ")) == 3, "the others' lines before")
        redis.kill9()
        for member in lines:
            member.waitFor(LINK_LOST)
        for n in range(3):
            for member in members:
                member.send(f"out {member.name} {n}")
        lockstep.ask(f"out {lockstep.name} 0")
        self.assertIn(
            b"ERR the link to the shared room is down; try again soon",
            members[0].ask("/nick newname"),
        )
        time.sleep(2)  # the outage
        redis.restart()
        for member in lines:
            member.waitFor(LINK_BACK)
        for member in members:
            member.send(f"post {member.name}")
        lockstep.ask(f"post {lockstep.name}")
        everything = {(m.name, f"pre {m.name}") for m in [*members, lockstep]}
        everything |= {(m.name, f"out {m.name} {n}") for m in members for n in range(3)}
        everything |= {(lockstep.name, f"out {lockstep.name} 0")}
        everything |= {(m.name, f"post {m.name}") for m in [*members, lockstep]}
        views = {}
        for member in lines:
            expected = {line for line in everything if line[0] != member.name}
            member.waitUntil(lambda m=member, e=expected: e <= set(m.said()), "every line")
            views[member.name] = member.said(r"(?:pre|out|post) ")
        expected = {line for line in everything if line[0] != lockstep.name}
        lockstep.pollUntil(lambda: expected <= set(lockstep.said()), "every line")
        views[lockstep.name] = lockstep.said(r"(?:pre|out|post) ")
        for name, view in views.items():
            self.assertEqual(len(view), len(set(view)), f"{name} got a line twice: {view}")
            self.assertEqual(set(view), {line for line in everything if line[0] != name}, name)
        for first in views.values():
            for second in views.values():
                self.assertTrue(consistent(first, second), (first, second))
        for member in lines:
            self.assertEqual(member.transcript.count(LINK_LOST), 1, member.name)
            self.assertEqual(member.transcript.count(LINK_BACK), 1, member.name)
            self.assertNotIn(NOT_SENT, member.transcript)
        self.assertEqual(lockstep.received.count(LINK_LOST.decode()), 1)
        self.assertEqual(lockstep.received.count(LINK_BACK.decode()), 1)
        everybody = {m.name for m in lines} | {lockstep.name}
        for member in members:
            self.assertEqual(sorted(member.who()), sorted(everybody), member.name)
        self.assertNamesInRedis(everybody)
        self.rename(members[0], "newname")
        for daemon in daemons:
            self.assertEqual(daemon.stop(), 0)
            self.assertNotIn(SECRET, daemon.output())
        self.assertCleanLogs()

    def test_holdLimit(self) -> None:
        """
        With C{--chat-redis-hold 5}, five lines wait for Redis and the sixth
        is refused to its sender with C{ERR}; the five reach the other daemon
        once Redis is back, in order, and the sixth never does.
        """
        redis = self.cluster.startRedis()
        a, b = self.cluster.startDaemons([("--chat-redis-hold", "5"), ()])
        ann, bob = self.join(a, nick="ann"), self.join(b, nick="bob")
        redis.kill9()
        ann.waitFor(LINK_LOST)
        bob.waitFor(LINK_LOST)
        for n in range(5):
            ann.send(f"held {n}")
        self.assertNotIn(b"ERR", ann.ask("/who", WHO))
        ann.send("held 5")
        self.assertIn(NOT_SENT + b"\r\n", ann.ask("/who", WHO))
        redis.restart()
        ann.waitFor(LINK_BACK)
        bob.waitUntil(lambda: len(bob.said("held ")) >= 5, "the held lines")
        held = [("ann", f"held {n}") for n in range(5)]
        self.assertEqual(bob.said("held "), held)
        self.assertEqual(self.streamLines("held "), held)
        self.assertEqual(ann.transcript.count(NOT_SENT), 1)
        self.assertCleanLogs()

    def test_holdIsForAnOutage(self) -> None:
        """
        The hold bounds the lines that wait for a Redis out of reach, not
        those on their way to one that answers: with C{--chat-redis-hold 5}
        and Redis up, a burst of 20 lines sent at once all reach the room, and
        nobody is told that the link is down.
        """
        self.cluster.startRedis()
        (a,) = self.cluster.startDaemons([("--chat-redis-hold", "5")])
        ann, bob = self.join(a, nick="ann"), self.join(a, nick="bob")
        ann.sock.sendall(b"".join(b"burst %d\r\n" % n for n in range(20)))
        self.assertNotIn(NOT_SENT, ann.ask("/who", WHO))
        bob.waitUntil(lambda: len(bob.said("burst ")) >= 20, "the burst")
        self.assertEqual(bob.said("burst "), [("ann", f"burst {n}") for n in range(20)])
        self.assertCleanLogs()

    def test_linkDroppedWhileSending(self) -> None:
        """
        Redis drops every client connection (C{CLIENT KILL}) three times while
        members of three daemons talk: entries whose reply was lost are sent
        again, and still every member gets every line of the others exactly
        once, in the order of the log.
        """
        redis = self.cluster.startRedis()
        daemons = self.cluster.startDaemons([(), (), ()])
        senders = [self.join(daemon) for daemon in daemons]
        count, pattern = 60, r"(?:s\d-\d+|done)$"

        def paced(member: Member, tag: str) -> None:
            for n in range(count):
                member.send(f"{tag}-{n:03d}")
                time.sleep(0.005)
            member.send("done")

        def dropLinks() -> None:
            for _ in range(3):
                time.sleep(0.08)
                redis.command("CLIENT", "KILL", "TYPE", "normal")

        jobs = [lambda m=m, n=n: paced(m, f"s{n}") for n, m in enumerate(senders)]
        self.assertEqual(runAll([*jobs, dropLinks]), [])
        readers = [*senders, *self.cluster.watchers.values()]
        for member in readers:
            dones = {(m.name, "done") for m in senders if m is not member}
            member.waitUntil(lambda m=member, d=dones: d <= set(m.said("done")), "done")
        order = self.streamLines(pattern)
        self.assertEqual(len(order), 3 * (count + 1))
        for member in readers:
            expected = [line for line in order if line[0] != member.name]
            self.assertEqual(member.said(pattern), expected, member.name)
            self.assertNotIn(b"ERR", member.transcript)
            self.assertNotIn(b"were lost", member.transcript)
        self.assertCleanLogs()


    def test_readRefusedByRedis(self) -> None:
        """
        Redis answers every daemon's blocked read with an error (C{CLIENT
        UNBLOCK ... ERROR}, as an error reply from any cause would): each
        daemon logs it once and reads again, and the room goes on.
        """
        redis = self.cluster.startRedis()
        first, second = self.cluster.startDaemons([(), ()])
        ann, bob = self.join(first), self.join(second)
        clients = redis.command("CLIENT", "LIST")
        listing = clients.decode() if isinstance(clients, bytes) else str(clients)
        readers = re.findall(r"\bid=(\d+)\b[^\n]*\bcmd=xread\b", listing)
        self.assertEqual(len(readers), 2, listing)
        for reader in readers:
            self.assertEqual(redis.command("CLIENT", "UNBLOCK", reader, "ERROR"), 1)
        ann.send("still here")
        bob.waitFor(f"<{ann.name}> still here\r\n".encode())
        bob.send("me too")
        ann.waitFor(f"<{bob.name}> me too\r\n".encode())
        for daemon in (first, second):
            self.assertIn("Redis refused to read the shared room", daemon.log())
        self.assertCleanLogs()


    def test_flushAll(self) -> None:
        """
        Someone runs C{FLUSHALL}: each daemon finds its heartbeat gone, catches
        up and claims its members' names again; nobody is announced lost, and
        C{/who} agrees everywhere with the names back in Redis.
        """
        redis = self.cluster.startRedis()
        first, second = self.cluster.startDaemons([(), ()])
        ann, bob = self.join(first, nick="ann"), self.join(second, nick="bob")
        everybody = self.cluster.residents() | {"ann", "bob"}
        redis.command("FLUSHALL")
        deadline = time.monotonic() + WAIT
        while len(redis.command("HGETALL", NAMES_KEY) or []) < 2 * len(everybody):
            self.assertLess(time.monotonic(), deadline, "names not claimed again")
            time.sleep(0.1)
        self.assertNamesInRedis(everybody)
        ann.send("after the flush")
        bob.waitFor(b"<ann> after the flush\r\n")
        for member in (ann, bob):
            self.assertEqual(sorted(member.who()), sorted(everybody), member.name)
            self.assertNotIn(b"server lost", member.transcript)
        self.assertCleanLogs()


class StartStopTests(SharedRoomTestCase):
    """
    Starting and stopping around Redis; reaching it.
    """

    def test_sigtermWithRedisGone(self) -> None:
        """
        SIGTERM stops a daemon whose Redis was killed (and never comes back)
        within 5 s, with status 0; its members are told.
        """
        self.sigtermWithout(RedisServer.kill9, 5)

    def test_sigtermWithRedisHung(self) -> None:
        """
        As above, with a Redis that is stopped (SIGSTOP): connected, silent.
        The daemon waits for it twice, 2 s each time (for the lines on their
        way, then to take its heartbeat away), so within 6 s.
        """
        self.sigtermWithout(RedisServer.pause, 6)

    def sigtermWithout(self, outage: Callable[[RedisServer], None], limit: float) -> None:
        """
        Take Redis away with C{outage} while a member talks, then stop the
        daemon with SIGTERM: status 0 within C{limit} seconds.
        """
        redis = self.cluster.startRedis()
        (daemon,) = self.cluster.startDaemons([()])
        member = self.join(daemon, nick="ann")
        member.send("line before")
        self.cluster.watchers[daemon].waitFor(b"<ann> line before\r\n")
        outage(redis)
        member.send("line held")
        time.sleep(0.5)  # the daemon may or may not have noticed yet
        start = time.monotonic()
        status = daemon.stop()
        elapsed = time.monotonic() - start
        print(f"\nSIGTERM without Redis: stopped in {elapsed:.2f} s")
        self.assertEqual(status, 0, daemon.output()[-3000:])
        self.assertLess(elapsed, limit)
        self.assertTrue(member.rest().endswith(b"* server shutting down\r\n"))
        daemon.assertCleanLog()

    def test_unreachableAtStart(self) -> None:
        """
        A Redis that cannot be reached stops the daemon at start: status not
        0, one line naming the option and saying why, no traceback.
        """
        port = freePort()
        for url in (f"redis://127.0.0.1:{port}/0", "unix:///nonexistent/redis.sock"):
            result = run(["--chat", f"tcp:{freePort()}:interface=127.0.0.1", "--chat-redis", url])
            printed = (result.stdout + result.stderr).strip()
            self.assertNotEqual(result.returncode, 0, printed)
            self.assertEqual(len(printed.splitlines()), 1, printed)
            self.assertTrue(printed.startswith(f"netlab: --chat-redis {url}: "), printed)
            self.assertIn("cannot reach Redis", printed)
            self.assertNotIn("Traceback", printed)

    def test_passwordNeverShown(self) -> None:
        """
        Daemons given the password (C{redis://:PASSWORD@...} over TCP,
        C{unix:///PATH?password=...} over Redis's UNIX socket) share the room
        and never show it; a wrong password (or none) stops a daemon at start
        with one line that does not show it either.
        """
        redis = self.cluster.startRedis(password=SECRET)
        (a,) = self.cluster.startDaemons([()])
        (b,) = self.cluster.startDaemons([()], url=f"{redis.unixURL}?password={SECRET}")
        ann, bob = self.join(a, nick="ann"), self.join(b, nick="bob")
        ann.send("over TCP")
        bob.until(b"<ann> over TCP\r\n")
        bob.send("over a UNIX socket")
        ann.until(b"<bob> over a UNIX socket\r\n")
        for url in (
            f"redis://:wr0ng-Pa55word@127.0.0.1:{redis.port}/0",
            f"redis://127.0.0.1:{redis.port}/0",
        ):
            result = run(["--chat", f"tcp:{freePort()}:interface=127.0.0.1", "--chat-redis", url])
            printed = (result.stdout + result.stderr).strip()
            self.assertNotEqual(result.returncode, 0, printed)
            self.assertEqual(len(printed.splitlines()), 1, printed)
            self.assertIn("netlab: --chat-redis redis://", printed)
            self.assertNotIn("wr0ng", printed)
            self.assertNotIn("Traceback", printed)
        for daemon in (a, b):
            self.assertEqual(daemon.stop(), 0)
            self.assertNotIn(SECRET, daemon.output())
        self.assertCleanLogs()


def runAll(jobs: Sequence[Callable[[], None]], timeout: float = WAIT * 2) -> list[str]:
    """
    Run C{jobs} at once, each in a thread; return the errors they raised.
    """
    errors: list[str] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as e:
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=guarded, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
        if thread.is_alive():
            errors.append("a job did not finish in time")
    return errors
