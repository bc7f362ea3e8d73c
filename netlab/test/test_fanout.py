"""
Tests for L{netlab.fanout}: one line sent to many sockets on several threads,
and a room that uses it.
"""

from __future__ import annotations

import socket
import threading

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from netlab.chat.interfaces import IChatMember
from netlab.chat.room import ChatRoom
from netlab.fanout import PARALLEL_FROM, ParallelSend, sendRange
from netlab.testing import FakeChatRoom


class Pairs:
    """
    Connected socket pairs: we send on C{ours}, read on C{theirs}.
    """

    def __init__(self, test: SynchronousTestCase, count: int) -> None:
        self.ours: list[socket.socket] = []
        self.theirs: list[socket.socket] = []
        for _ in range(count):
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            self.ours.append(a)
            self.theirs.append(b)
            test.addCleanup(a.close)
            test.addCleanup(b.close)

    def read(self, i: int) -> bytes:
        chunks = []
        while True:
            try:
                chunk = self.theirs[i].recv(1 << 20)
            except BlockingIOError:
                return b"".join(chunks)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


class SendRangeTests(SynchronousTestCase):
    def test_recordsSent(self) -> None:
        """
        Each socket in the range is sent its data once, and what it took is
        recorded; a socket that raises took nothing; the rest are untouched.
        """
        pairs = Pairs(self, 3)
        pairs.ours[1].close()
        sent = [-1, -1, -1, -1]
        socks = [*pairs.ours, pairs.ours[0]]
        sendRange(socks, [b"a", b"bb", b"ccc", b"dddd"], sent, 0, 3)
        self.assertEqual(sent, [1, 0, 3, -1])
        self.assertEqual(pairs.read(0), b"a")
        self.assertEqual(pairs.read(2), b"ccc")


class ParallelSendTests(SynchronousTestCase):
    def sender(self, threads: int) -> ParallelSend:
        sender = ParallelSend(threads)
        self.addCleanup(sender.stop)
        return sender

    def test_share(self) -> None:
        """
        Below L{PARALLEL_FROM} sockets, or with one thread, the caller sends
        to all of them; otherwise its even share.
        """
        self.assertEqual(self.sender(2).share(PARALLEL_FROM - 1), PARALLEL_FROM - 1)
        self.assertEqual(self.sender(2).share(1000), 500)
        self.assertEqual(self.sender(4).share(1000), 250)
        self.assertEqual(self.sender(1).share(1000), 1000)

    def test_defaultThreads(self) -> None:
        """
        0 threads means one per usable CPU, at most four.
        """
        self.assertIn(ParallelSend(0).threads, (1, 2, 3, 4))

    def test_everySocketOnceInOrder(self) -> None:
        """
        Sends of many sockets' data on the workers reach every socket once,
        and one send's bytes come before the next one's.
        """
        sender = self.sender(3)
        pairs = Pairs(self, 300)
        for n in range(5):
            datas = [b"%d:%d\n" % (n, i) for i in range(300)]
            finish = sender.begin(pairs.ours, datas)
            self.assertEqual(finish(), [len(d) for d in datas])
        for i in range(300):
            self.assertEqual(pairs.read(i), b"".join(b"%d:%d\n" % (n, i) for n in range(5)))

    def test_usesWorkers(self) -> None:
        """
        The sends are made on the worker threads, not the caller's.
        """
        sender = self.sender(2)
        seen: set[str] = set()

        class Recording:
            def send(self, data: bytes) -> int:
                seen.add(threading.current_thread().name)
                return len(data)

        socks = [Recording() for _ in range(PARALLEL_FROM)]
        self.assertEqual(sender.begin(socks, [b"x"] * len(socks))(), [1] * len(socks))
        self.assertEqual(seen, {"netlab-send-1"})

    def test_partial(self) -> None:
        """
        A socket that takes only part of its data says how much it took.
        """
        sender = self.sender(2)
        pairs = Pairs(self, PARALLEL_FROM)
        pairs.ours[5].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        big = b"x" * (1 << 22)
        datas = [b"small"] * PARALLEL_FROM
        datas[5] = big
        sent = sender.begin(pairs.ours, datas)()
        self.assertTrue(0 < sent[5] < len(big))
        self.assertEqual(sent[:5] + sent[6:], [5] * (PARALLEL_FROM - 1))

    def test_failureRaised(self) -> None:
        """
        Anything but an C{OSError} raised on a worker is raised by the call
        that waits, and the workers carry on.
        """
        sender = self.sender(2)

        class Broken:
            def send(self, data: bytes) -> int:
                raise ValueError("broken")

        finish = sender.begin([Broken()] * PARALLEL_FROM, [b"x"] * PARALLEL_FROM)
        self.assertRaises(ValueError, finish)
        pairs = Pairs(self, PARALLEL_FROM)
        self.assertEqual(sender.begin(pairs.ours, [b"y"] * PARALLEL_FROM)(), [1] * PARALLEL_FROM)

    def test_stopAndRestart(self) -> None:
        """
        Stopping the service ends its threads; the next send starts them again.
        """
        sender = self.sender(3)
        pairs = Pairs(self, 2 * PARALLEL_FROM)
        sender.begin(pairs.ours, [b"a"] * len(pairs.ours))()
        self.assertEqual(len(sender._workers), 2)
        workers = list(sender._workers)
        sender.startService()
        sender.stopService()
        self.assertEqual([w.is_alive() for w in workers], [False, False])
        self.assertEqual(
            sender.begin(pairs.ours, [b"b"] * len(pairs.ours))(), [1] * len(pairs.ours)
        )
        self.assertEqual(pairs.read(0), b"ab")

    def test_startLogged(self) -> None:
        """
        Starting says how many threads a big room is sent to on (nothing for one).
        """
        with capturedLogs() as events:
            self.sender(2).startService()
            self.sender(1).startService()
        self.assertEqual(
            [formatEvent(event) for event in events],
            [f"chat: a room of {PARALLEL_FROM} or more is sent to on 2 threads"],
        )

    def test_oneThreadStartsNone(self) -> None:
        """
        With one thread, sending starts no worker.
        """
        sender = self.sender(1)
        pairs = Pairs(self, 2 * PARALLEL_FROM)
        before = threading.active_count()
        self.assertEqual(
            sender.begin(pairs.ours, [b"a"] * len(pairs.ours))(), [1] * len(pairs.ours)
        )
        self.assertEqual(threading.active_count(), before)


@implementer(IChatMember)
class SocketMember:
    """
    A line member on a real socket, or none: what it is delivered it sends
    on its socket if it has one (else keeps in C{delivered}), and the room may
    send to the socket itself (C{direct} counts those sends); what the socket
    did not take of those goes to C{rest}.
    """

    terminator = b"\n"
    lastHeard = None

    def __init__(self, sock: socket.socket | None) -> None:
        self.name: str | None = None
        self.sock = sock
        self.delivered: list[bytes] = []
        self.rest: list[bytes] = []
        self.direct = 0

    def directSocket(self) -> socket.socket | None:
        return self.sock

    def sentDirect(self, line: bytes, sent: int) -> None:
        self.direct += 1
        if sent != len(line):
            self.rest.append(line[sent:])

    def deliver(self, line: bytes) -> None:
        if self.sock is None:
            self.delivered.append(line)
        else:
            self.sock.sendall(line)

    def flush(self) -> None:
        pass

    def sendMessage(self, text: str) -> None:
        pass

    def sendError(self, text: str) -> None:
        pass

    def close(self, reason: str | None = None) -> None:
        pass

    def timedOut(self) -> None:
        pass

    def renamed(self, name: str, why: str | None) -> None:
        self.name = name

    def reportLimit(self, text: str, kind: str) -> None:
        pass


class RoomFanoutTests(SynchronousTestCase):
    def room(self, count: int, threads: int = 2) -> tuple[ChatRoom, list[SocketMember], Pairs]:
        sender = ParallelSend(threads)
        self.addCleanup(sender.stop)
        room = ChatRoom(FakeChatRoom().clock, history=0, announceLimit=0, sender=sender)
        pairs = Pairs(self, count)
        members = [SocketMember(sock) for sock in pairs.ours]
        for member in members:
            member.name = room.join(member)
        return room, members, pairs

    def test_bigRoom(self) -> None:
        """
        In a big room every member but the speaker gets each turn's lines
        once, in order, whether the caller's thread or a worker sent them.
        """
        room, members, pairs = self.room(3 * PARALLEL_FROM)
        speaker = members[7]
        for turn in range(3):
            room.broadcast(f"<a> {turn}.1")
            room.broadcast(f"<b> {turn}.2", exclude=speaker)
            room.settle()
        lines = b"".join(b"<a> %d.1\n<b> %d.2\n" % (t, t) for t in range(3))
        for i, member in enumerate(members):
            if member is speaker:
                self.assertEqual(pairs.read(i), b"".join(b"<a> %d.1\n" % t for t in range(3)))
            else:
                self.assertEqual(pairs.read(i), lines)
        # The caller's thread sent to its half itself; the worker, to the rest.
        direct = [member.direct for member in members]
        half = len(members) // 2
        self.assertEqual(direct, [0] * half + [3] * (len(members) - half))

    def test_notDirect(self) -> None:
        """
        Members without a socket to send on directly get their lines
        delivered, on both the caller's share and the workers'.
        """
        room, members, pairs = self.room(3 * PARALLEL_FROM)
        for member in members[::5]:
            member.sock = None
        room.broadcast("<a> hi")
        room.settle()
        for i, member in enumerate(members):
            expected = ([b"<a> hi\n"], b"") if member.sock is None else ([], b"<a> hi\n")
            self.assertEqual((member.delivered, pairs.read(i)), expected)
        self.assertTrue(any(member.direct for member in members))

    def test_rest(self) -> None:
        """
        What a worker's socket did not take is handed back to its member.
        """
        room, members, pairs = self.room(3 * PARALLEL_FROM)
        for member in members[: len(members) // 2]:  # (the caller's share: kept, not sent)
            member.sock = None
        last = members[-1]
        last.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        room.broadcast("x" * (1 << 22))
        room.settle()
        self.assertEqual(len(last.rest), 1)
        self.assertEqual(len(pairs.read(len(members) - 1)) + len(last.rest[0]), (1 << 22) + 1)

    def test_failureWaitsForWorkers(self) -> None:
        """
        A failure on the reactor's share is raised only once the workers are
        done with their sockets, and the next turn starts clean.
        """
        room, members, pairs = self.room(3 * PARALLEL_FROM)

        def broken(line: bytes) -> None:
            raise RuntimeError("broken member")

        members[0].deliver = broken
        room.broadcast("<a> one")
        self.assertRaises(RuntimeError, room.settle)
        half = len(members) // 2
        self.assertEqual([m.direct for m in members[half:]], [1] * (len(members) - half))
        del members[0].deliver
        room.broadcast("<a> two")
        room.settle()
        self.assertEqual(pairs.read(len(members) - 1), b"<a> one\n<a> two\n")

    def test_settledFromADelivery(self) -> None:
        """
        A line said and settled from inside a delivery (on the reactor's
        share, while the workers send) follows once every member has the
        turn's lines: each gets both once, in order.
        """
        room, members, pairs = self.room(3 * PARALLEL_FROM)
        chatty = members[1]
        deliver = chatty.deliver

        def saysMore(line: bytes) -> None:
            deliver(line)
            if line == b"<a> one\n":
                room.broadcast("<b> two", exclude=chatty)
                room.settle()

        chatty.deliver = saysMore
        room.broadcast("<a> one")
        room.settle()
        for i, member in enumerate(members):
            expected = b"<a> one\n" if member is chatty else b"<a> one\n<b> two\n"
            self.assertEqual(pairs.read(i), expected)

    def test_smallRoomOneThread(self) -> None:
        """
        A small room sends on the reactor's thread alone (no worker starts).
        """
        room, members, pairs = self.room(PARALLEL_FROM - 1)
        room.broadcast("<a> hi")
        room.settle()
        self.assertEqual(room.sender._workers, [])
        self.assertEqual([m.direct for m in members], [0] * len(members))
        self.assertEqual([pairs.read(i) for i in range(len(members))], [b"<a> hi\n"] * len(members))
