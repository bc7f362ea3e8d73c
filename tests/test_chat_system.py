"""
System tests of the Chat service against the real daemon (C{twistd -n netlab}).

Every wait is bounded (socket timeouts, deadlines) as a guard against hangs; no
test sleeps to pass.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.daemon import START_TIMEOUT, Daemon, freePort, recvUntil, twistd, waitForPort
from tests.faults import NO_CHAT_LIMITS

#: A guard against hanging tests, not a performance expectation.
DEADLINE = 30.0


class Peer:
    """
    A blocking socket client that keeps what it read past a marker for the
    next read.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def until(self, marker: bytes, limit: int = 1 << 30) -> bytes:
        """
        Read up to and including C{marker}; fail if the peer closes first.
        """
        while marker not in self.buffer and len(self.buffer) < limit:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise AssertionError(f"{marker!r} not received; got {self.buffer[-500:]!r}")
            self.buffer += chunk
        end = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:end], self.buffer[end:]
        return data

    def rest(self) -> bytes:
        """
        Everything until the server closes the connection.
        """
        data, self.buffer = self.buffer + recvUntil(self.sock, b"\x00never", 1 << 30), b""
        return data

    def joined(self) -> bytes:
        """
        Say that this is a line client (an empty line, as a telnet user pressing
        Enter), then read the welcome: greeting, hint and any history, up to the
        line end the server owes a line client.
        """
        self.send(b"\r\n")
        return self.until(b"/help for the commands.") + self.until(b"\r\n")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


def readUntil(fd: int, marker: bytes, timeout: float = DEADLINE) -> bytes:
    """
    Read a pipe or terminal until C{marker} arrives (or fail after C{timeout}).
    """
    data, deadline = b"", time.monotonic() + timeout
    while marker not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"{marker!r} not received; got {data[-2000:]!r}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a terminal whose other side closed
            chunk = b""
        if not chunk:
            raise AssertionError(f"{marker!r} not received before end; got {data[-2000:]!r}")
        data += chunk
    return data


class RoomTests(SynchronousTestCase):
    """
    Real clients talking.
    """

    def setUp(self) -> None:
        self.daemon = Daemon.start(["--chat", "{port}", "--max-per-peer", "0"])
        self.addCleanup(self.daemon.close)

    def connect(self) -> Peer:
        sock = self.daemon.connect("chat")
        self.addCleanup(sock.close)
        peer = Peer(sock)
        peer.joined()
        return peer

    def test_threeClients(self) -> None:
        """
        Three clients chat: each line reaches the other two, never the sender.
        """
        alice = self.connect()
        bob = self.connect()
        carol = self.connect()
        alice.until(b"has joined\r\n")
        alice.until(b"has joined\r\n")
        bob.until(b"has joined\r\n")
        alice.send(b"/nick alice\r\n")
        alice.until(b"* You are now alice.\r\n")
        alice.send(b"hello from alice\r\n")
        bob.send(b"hi alice\n")
        for reader in (bob, carol):
            self.assertIn(b"<alice> hello from alice\r\n", reader.until(b"hello from alice\r\n"))
        self.assertIn(b"> hi alice\r\n", carol.until(b"hi alice\r\n"))
        self.assertNotIn(b"hello from alice", alice.until(b"hi alice\r\n"))
        carol.send(b"/quit\r\n")
        self.assertEqual(carol.rest(), b"* Bye!\r\n")
        self.assertIn(b"has left", alice.until(b"has left\r\n"))
        self.daemon.assertCleanLog()

    def test_courseClient(self) -> None:
        """
        A course-style client (bare message, blocking recv(1024)) converses with
        a telnet-style one: each of its messages gets one reply, holding what
        the room said since its last one.
        """
        telnet = self.connect()
        course = self.daemon.connect("chat")
        self.addCleanup(course.close)
        self.assertTrue(course.recv(1024).endswith(b"/help for the commands."))
        telnet.until(b"has joined\r\n")
        course.send(b"Hello, is anyone there?")
        self.assertIn(b"> Hello, is anyone there?\r\n", telnet.until(b"there?\r\n"))
        self.assertEqual(course.recv(1024), b"* (no new messages)")
        telnet.send(b"Yes, I am here.\r\n")
        course.send(b"Good.")
        self.assertIn(b"> Good.\r\n", telnet.until(b"Good.\r\n"))
        reply = course.recv(1024)
        self.assertTrue(reply.endswith(b"> Yes, I am here."), reply)
        self.daemon.assertCleanLog()

    def test_sigterm(self) -> None:
        """
        SIGTERM: every client gets C{* server shutting down}, then end of
        stream; the daemon exits 0.
        """
        clients = [self.connect() for _ in range(5)]
        self.assertEqual(self.daemon.stop(), 0)
        for client in clients:
            data = client.rest()
            self.assertTrue(data.endswith(b"* server shutting down\r\n"), data[-200:])
        self.daemon.assertCleanLog()


class BigRoomTests(SynchronousTestCase):
    """
    A room big enough that its lines are sent on worker threads too
    (C{--chat-threads 2}, 64 members or more).
    """

    MEMBERS = 150
    SENDERS = 3
    LINES = 40

    def test_everyLineOnceInOrder(self) -> None:
        """
        Three members talk at once while others leave abruptly (RST): every
        member that stays gets every line once, in each sender's order; then
        SIGTERM reaches them all, and the log is clean.
        """
        daemon = Daemon.start(
            ["--chat", "{port}", "--max-per-peer", "0", "--chat-threads", "2", *NO_CHAT_LIMITS]
        )
        self.addCleanup(daemon.close)
        peers = []
        for _ in range(self.MEMBERS):
            peer = Peer(daemon.connect("chat"))
            self.addCleanup(peer.sock.close)
            peer.joined()
            peers.append(peer)
        senders, leavers = peers[: self.SENDERS], peers[-10:]
        readers = peers[self.SENDERS : -10]
        for number, sender in enumerate(senders):
            sender.send(f"/nick s{number}\r\n".encode())
            sender.until(f"* You are now s{number}.\r\n".encode())

        def talk(number: int) -> None:
            for line in range(self.LINES):
                senders[number].send(f"{line}\r\n".encode())

        threads = [threading.Thread(target=talk, args=(n,)) for n in range(self.SENDERS)]
        for thread in threads:
            thread.start()
        for leaver in leavers:  # gone mid-stream, without a goodbye
            leaver.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            leaver.sock.close()
        for thread in threads:
            thread.join(DEADLINE)
        lasts = [f"<s{n}> {self.LINES - 1}\r\n".encode() for n in range(self.SENDERS)]
        for reader in readers:
            reader.sock.settimeout(DEADLINE)
            received = b""
            while not all(last in received for last in lasts):
                received += reader.until(b"\r\n")
            heard = [line for line in received.split(b"\r\n") if line.startswith(b"<s")]
            for number in range(self.SENDERS):
                said = [line for line in heard if line.startswith(f"<s{number}> ".encode())]
                self.assertEqual(said, [f"<s{number}> {n}".encode() for n in range(self.LINES)])
        self.assertEqual(daemon.stop(), 0)
        for reader in readers:
            self.assertTrue(reader.rest().endswith(b"* server shutting down\r\n"))
        daemon.assertCleanLog()


class FloodTests(SynchronousTestCase):
    """
    A client that never reads while another floods.
    """

    SENDQ = 256 * 1024
    LINE = 1000

    def test_neverReader(self) -> None:
        """
        The never-reader is dropped with C{ERR send queue exceeded} and
        announced as left; the reader gets every message in order; the daemon's
        RSS stays within 16 MiB of where it started.
        """
        daemon = Daemon.start(
            ["--chat", "{port}", *NO_CHAT_LIMITS, "--chat-sendq", str(self.SENDQ)]
        )
        self.addCleanup(daemon.close)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(DEADLINE)
        sock.connect(("127.0.0.1", daemon.port("chat")))
        self.addCleanup(sock.close)
        sleeper = Peer(sock)
        sleeper.joined()
        reader, flooder = Peer(daemon.connect("chat")), Peer(daemon.connect("chat"))
        self.addCleanup(reader.sock.close)
        self.addCleanup(flooder.sock.close)
        reader.joined()
        flooder.joined()
        reader.until(b"has joined\r\n")
        baseline = daemon.rss()

        progress = Progress()
        thread = threading.Thread(target=progress.read, args=(reader,))
        thread.start()
        peak, sent = baseline, 0
        while not progress.dropped and sent < 40_000:
            flooder.send(
                b"".join(
                    b"%06d " % (sent + n) + b"x" * (self.LINE - 9) + b"\r\n" for n in range(100)
                )
            )
            sent += 100
            progress.waitFor(sent - 100)
            peak = max(peak, daemon.rss())
        flooder.send(b"END\r\n")
        thread.join(DEADLINE)
        self.assertTrue(progress.dropped, "the never-reader was not dropped")
        self.assertEqual(progress.numbers, list(range(sent)))
        print(f"\nflood: {sent} lines, RSS {baseline >> 20} MiB -> peak {peak >> 20} MiB")
        self.assertLess(peak - baseline, 16 << 20)
        tail = sleeper.rest()
        self.assertTrue(tail.endswith(b"ERR send queue exceeded\r\n"), tail[-200:])
        daemon.assertCleanLog()


class Progress:
    """
    What a reading client has received so far: the numbers of the relayed lines
    and whether the never-reader was announced as dropped.
    """

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.dropped = False
        self.done = False
        self.changed = threading.Condition()

    def read(self, reader: Peer) -> None:
        """
        Read (in a thread) until a line ends in C{END} or the connection closes.
        """
        rest = reader.buffer
        try:
            while not self.done:
                chunk = reader.sock.recv(1 << 20)
                if not chunk:
                    break
                lines = (rest + chunk).split(b"\r\n")
                rest = lines.pop()
                with self.changed:
                    for line in lines:
                        self.take(line)
                    self.changed.notify_all()
        finally:
            with self.changed:
                self.done = True
                self.changed.notify_all()

    def take(self, line: bytes) -> None:
        if line.endswith(b"> END"):
            self.done = True
        elif line.startswith(b"<"):
            self.numbers.append(int(line.split(b"> ", 1)[1][:6]))
        elif b"has left (send queue exceeded)" in line:
            self.dropped = True

    def waitFor(self, count: int) -> None:
        """
        Wait (at most L{DEADLINE}) until C{count} lines arrived.
        """
        with self.changed:
            self.changed.wait_for(lambda: self.done or len(self.numbers) >= count, DEADLINE)


class OperatorTests(SynchronousTestCase):
    """
    The operator console, over a UNIX socket and on standard input/output.
    """

    def test_unixConsole(self) -> None:
        """
        C{nc -U PATH} joins as operator and may /wall and /kick; the socket is
        readable and writable by its owner only, without mode=600 being asked
        for (it was world-writable: any local user could /kick).
        """
        daemon = Daemon.start(["--chat", "{port}", "--chat-operator", "unix:{tmp}/operator.sock"])
        self.addCleanup(daemon.close)
        guest = Peer(daemon.connect("chat"))
        self.addCleanup(guest.sock.close)
        guest.joined()
        path = Path(daemon._tmp.name) / "operator.sock"
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(DEADLINE)
        sock.connect(str(path))
        self.addCleanup(sock.close)
        console = Peer(sock)
        self.assertIn(b"You are operator.", console.joined())
        console.send(b"/wall back in five\n")
        self.assertIn(b"*** operator: back in five", guest.until(b"five\r\n"))
        guest.send(b"/kick operator\r\n")
        self.assertIn(b"ERR /kick is only", guest.until(b"console\r\n"))
        console.send(b"/kick guest-2\n")
        self.assertTrue(guest.rest().endswith(b"ERR you were kicked by operator\r\n"))
        self.assertIn(b"has left (kicked by operator)", console.until(b"operator)\n"))
        self.assertEqual(daemon.stop(), 0)
        rest = console.rest()
        self.assertTrue(rest.endswith(b"* server shutting down\n"), rest)
        daemon.assertCleanLog()

    def test_stdioConsole(self) -> None:
        """
        With C{stdio:}, standard output carries the console and nothing else;
        the log goes to standard error.
        """
        port = freePort()
        process = subprocess.Popen(
            [twistd(), "-n", "--pidfile=", "netlab", "--chat", f"tcp:{port}:interface=127.0.0.1"]
            + ["--chat-operator", "stdio:"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.addCleanup(self.stop, process)
        waitForPort(port)
        out = process.stdout.fileno()
        console = readUntil(out, b"You are operator.")
        guest = Peer(socket.create_connection(("127.0.0.1", port), timeout=DEADLINE))
        self.addCleanup(guest.sock.close)
        guest.joined()
        guest.send(b"hello operator\r\n")
        console += readUntil(out, b"hello operator")
        process.stdin.write(b"/wall hi everyone\n")
        process.stdin.flush()
        self.assertIn(b"*** operator: hi everyone", guest.until(b"everyone\r\n"))
        process.send_signal(signal.SIGTERM)
        console += readUntil(out, b"* server shutting down")
        self.assertEqual(process.wait(START_TIMEOUT), 0)
        log = process.stderr.read()
        self.assertNotIn(b"[netlab#info]", console)
        self.assertIn(b"chat: operator console on standard input/output", log)
        self.assertIn(b"<guest-", console)

    def test_terminalConsole(self) -> None:
        """
        When standard error is the console's own terminal, the log is switched
        off (and the console says so) rather than garbling it.
        """
        import pty

        port = freePort()
        main, terminal = pty.openpty()
        self.addCleanup(os.close, main)
        process = subprocess.Popen(
            [twistd(), "-n", "--pidfile=", "netlab", "--chat", f"tcp:{port}:interface=127.0.0.1"]
            + ["--chat-operator", "stdio:"],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
        )
        os.close(terminal)
        self.addCleanup(self.stop, process)
        waitForPort(port)
        screen = readUntil(main, b"Log output is off")
        guest = Peer(socket.create_connection(("127.0.0.1", port), timeout=DEADLINE))
        self.addCleanup(guest.sock.close)
        guest.joined()
        guest.send(b"knock knock\r\n")
        screen += readUntil(main, b"knock knock")
        self.assertNotIn(b"[netlab#info]", screen[screen.index(b"Welcome") :])
        process.send_signal(signal.SIGTERM)
        readUntil(main, b"* server shutting down")
        self.assertEqual(process.wait(START_TIMEOUT), 0)

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
