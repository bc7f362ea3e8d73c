"""
Shared pieces of the fault suite (issue 6): the health check that follows every
scenario, the measurements each scenario reports, and attack sockets.

Every scenario ends with L{Scenario.assertAllClosed} (every connection the
scenario closed is closed in the daemon too: nothing leaks) and
L{Scenario.assertHealthy}: the daemon is alive, a fresh client of every service
it runs is served correctly (from 127.0.0.1, while the attack traffic comes
from 127.0.0.2 and up, so per-peer limits never hide a health check), its log
holds no traceback, and its peak resident set size stayed within
L{RSS_GROWTH_LIMIT} of what it was right after start-up.

Each scenario prints one parseable line (see with C{pytest -s} or C{-rP})::

    FAULT scenario=2 case=doctor-10MiB rss_start_mib=50.1 rss_peak_mib=53.2 seconds=1.84

Waits in this module poll for a condition with a deadline; the deadline only
guards against a hung test, no test relies on time passing.
"""

from __future__ import annotations

import random
import re
import resource
import selectors
import socket
import string
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from netlab.doctor import Doctor
from tests.daemon import Daemon, recvAll

MIB = 1 << 20

#: How much the daemon's peak resident set size (VmHWM) may exceed its size
#: right after start-up (about 50 MiB: Python, Twisted, the Doctor's script).
#: Below 10 MiB on purpose: a daemon that held scenario 2's 10 MiB message in
#: memory even once fails.  The largest growth measured in the suite is about
#: 2 MiB (2,000 connections opened at once; the 100,000-line chat burst; SIGTERM
#: with 100 busy clients), so 8 MiB leaves four times that for allocator slack.
#: A scenario that legitimately needs more (send queues of many stuck chat
#: readers, at --chat-sendq each) must say so and use its own bound.
RSS_GROWTH_LIMIT = 8 * MIB

#: Upper bound on any single wait for the daemon (a reply, a close, a log line).
#: A guard against hanging tests, not a performance expectation.
WAIT = 10.0

#: Options that switch the room's flood control off: no pace per client, no
#: share per address (tests that flood the room on purpose from one address).
NO_CHAT_LIMITS = ("--chat-rate", "0", "--chat-address-rate", "0", "--chat-address-bytes", "0")

#: What the course's Chat server says first.
CHAT_WELCOME = b"Welcome to my chat room!"

#: A ctime() date, as the Day/Time service sends it.
CTIME = re.compile(rb"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$")


def services(*extra: str, chat: bool = True) -> list[str]:
    """
    Daemon options for the Day/Time, Doctor and (unless C{chat} is false) Chat
    services on free loopback ports, followed by C{extra}.
    """
    options = ["--daytime", "{port}", "--doctor", "{port}"]
    if chat:
        options += ["--chat", "{port}"]
    return [*options, *extra]


def raiseOpenFilesLimit() -> None:
    """
    Let this test process hold thousands of sockets, as the daemon does.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def attackAddress(index: int) -> str:
    """
    The C{index}th attack source address: 127.0.0.2, 127.0.0.3, ... (Linux routes
    all of 127/8 to the loopback interface), never 127.0.0.1.
    """
    return f"127.0.{index // 250}.{2 + index % 250}"


def attackSocket(index: int = 0, timeout: float | None = WAIT) -> socket.socket:
    """
    A TCP socket bound to attack source address number C{index}, not yet connected.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((attackAddress(index), 0))
    sock.settimeout(timeout)
    return sock


def attackConnect(daemon: Daemon, service: str, index: int = 0) -> socket.socket:
    """
    A blocking socket connected to C{service} from attack address C{index}.
    """
    sock = attackSocket(index)
    try:
        sock.connect(("127.0.0.1", daemon.port(service)))
    except BaseException:
        sock.close()
        raise
    return sock


def reset(sock: socket.socket) -> None:
    """
    Close C{sock} with a TCP reset rather than an orderly FIN (C{SO_LINGER} 0).
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def waitFor(condition: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    """
    Poll C{condition} until it is true; fail, saying C{what} was awaited, after
    C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


#: TCP states in which the daemon has not closed its side of a connection:
#: ESTABLISHED, and CLOSE_WAIT (the peer closed, the daemon has not yet).
_OPEN_STATES = frozenset({"01", "08"})


def openConnections(port: int) -> int:
    """
    How many TCP connections to local C{port} the daemon holds open, as the
    kernel sees them (C{/proc/net/tcp} and C{tcp6}).  The daemon's log is no
    measure: it leaves out lines when many connections come and go.
    """
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] in _OPEN_STATES and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def waitForDisconnects(daemon: Daemon, service: str, open: int, timeout: float = WAIT) -> None:
    """
    Wait until the daemon holds at most C{open} connections to C{service}
    (it sees a client's close asynchronously).
    """
    port = daemon.port(service)
    waitFor(
        lambda: openConnections(port) <= open,
        f"{service} connections to close down to {open}",
        timeout,
    )


def waitForProbes(daemon: Daemon) -> None:
    """
    Wait until L{Daemon.start}'s probe connections (one per TCP service) are
    closed, so that a test counting connections starts from zero.
    """
    ports = [
        port
        for service, port in daemon.ports.items()
        if not service.endswith("-udp") and isinstance(port, int)
    ]
    waitFor(
        lambda: all(openConnections(port) == 0 for port in ports),
        "the start-up probe connections to close",
    )


def memory(pid: int) -> dict[str, int]:
    """
    The daemon's current (C{VmRSS}) and peak (C{VmHWM}) resident set size, in bytes.
    """
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0]) * 1024
    return figures


def lineClient(sock: socket.socket) -> socket.socket:
    """
    Tell the daemon that C{sock} is a line client, with an empty line (as a
    telnet user pressing Enter; the services ignore blank lines).  Until a
    client sends something it may be a lockstep one (the course's programs),
    which is never written to unasked: its greeting is left without a final line
    end and room lines are held for it.
    """
    sock.sendall(b"\n")
    return sock


def recvLines(sock: socket.socket, count: int, limit: int = 64 * MIB) -> list[bytes]:
    """
    Read until C{count} complete lines (ended by C{\\n}, C{\\r} stripped) arrived
    or the peer closed; return the complete lines.
    """
    data = b""
    while data.count(b"\n") < count and len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return [line.rstrip(b"\r") for line in data.split(b"\n")[:-1]]


class Scenario:
    """
    One fault scenario against one daemon: measures it and checks its health.

        with Scenario(self, 3, "slowloris", daemon) as scenario:
            ...attack...
        # here: the FAULT line is printed and the daemon is healthy

    @ivar rssStart: the daemon's RSS when the scenario started.
    """

    def __init__(
        self, test, number: int | str, case: str, daemon: Daemon, stops: bool = False
    ) -> None:
        self.test = test
        self.number = number
        self.case = case
        self.daemon = daemon
        self.stops = stops
        self.rssStart = 0
        self.peak = 0
        self.started = 0.0
        self.notes: dict[str, object] = {}

    def measure(self) -> int:
        """
        Record (and return) the daemon's peak RSS so far: for a scenario that
        stops the daemon (C{stops=True}), the last figure taken before it did.
        """
        self.peak = memory(self.daemon.process.pid)["VmHWM"]
        return self.peak

    def note(self, **figures: object) -> None:
        """
        Add C{figures} to the scenario's C{FAULT} line.
        """
        self.notes.update(figures)

    def __enter__(self) -> Scenario:
        self.rssStart = memory(self.daemon.process.pid)["VmRSS"]
        self.started = time.monotonic()
        return self

    def __exit__(self, kind, value, traceback) -> None:
        elapsed = time.monotonic() - self.started
        if self.stops:
            self._report(self.peak, elapsed)
            if kind is None:
                self.assertMemory(self.peak)
            return
        if not self.daemon.alive():
            print(f"FAULT scenario={self.number} case={self.case} died seconds={elapsed:.2f}")
            if kind is None:
                raise AssertionError(f"the daemon died:\n{self.daemon.output()[-5000:]}")
            return
        self._report(self.measure(), elapsed)
        if kind is None:
            self.assertAllClosed()
            self.assertHealthy()

    def assertAllClosed(self) -> None:
        """
        Every connection the scenario made (all closed by now on the client
        side) is closed on the daemon's side too: none leaks.
        """
        for service in self.daemon.ports:
            if not service.endswith("-udp"):
                waitForDisconnects(self.daemon, service, 0)

    def _report(self, peak: int, elapsed: float) -> None:
        print(
            f"FAULT scenario={self.number} case={self.case} "
            f"rss_start_mib={self.rssStart / MIB:.1f} rss_peak_mib={peak / MIB:.1f} "
            f"seconds={elapsed:.2f}" + "".join(f" {k}={v}" for k, v in self.notes.items())
        )

    def assertMemory(self, peak: int) -> None:
        """
        The peak RSS grew at most L{RSS_GROWTH_LIMIT} over the start.
        """
        assertMemory(self.test, peak, self.rssStart)

    def assertHealthy(self) -> None:
        """
        The daemon is alive, serves a fresh client of each of its services, logged
        no traceback, and its memory stayed bounded.
        """
        assertHealthy(self.test, self.daemon, self.rssStart)


def assertHealthy(test, daemon: Daemon, rssStart: int | None = None) -> None:
    """
    The after-each-scenario check (see the module docstring).  C{rssStart}: the
    RSS the peak is compared with; L{None} skips the memory check.
    """
    test.assertTrue(daemon.alive(), f"the daemon died:\n{daemon.output()[-5000:]}")
    for service in daemon.ports:
        check = _CHECKS.get(service)
        if check is not None:
            check(test, daemon)
    daemon.assertCleanLog()
    if rssStart is not None:
        assertMemory(test, memory(daemon.process.pid)["VmHWM"], rssStart)


def assertMemory(test, peak: int, rssStart: int) -> None:
    """
    The daemon's peak RSS grew at most L{RSS_GROWTH_LIMIT} over C{rssStart}.
    """
    test.assertLessEqual(
        peak - rssStart,
        RSS_GROWTH_LIMIT,
        f"peak RSS {peak / MIB:.1f} MiB grew more than "
        f"{RSS_GROWTH_LIMIT / MIB:.0f} MiB over {rssStart / MIB:.1f} MiB",
    )


def checkDaytime(test, daemon: Daemon) -> None:
    """
    A fresh Day/Time client gets the date, the farewell and the end of stream.
    """
    with daemon.connect("daytime", timeout=WAIT) as sock:
        data = recvAll(sock)
    lines = data.split(b"\n")
    test.assertEqual(len(lines), 3, data)
    test.assertRegex(lines[0], CTIME)
    test.assertEqual(lines[1:], [b"Have a nice day!", b""])


def checkDoctor(test, daemon: Daemon, message: str = "sad") -> None:
    """
    A fresh Doctor client gets the greeting and the right reply to a message
    (a short one, so that scenarios may run with a tiny C{--max-line}).
    """
    doctor = Doctor()
    expected = [doctor.greeting().encode(), doctor.reply(message).encode()]
    with daemon.connect("doctor", timeout=WAIT) as sock:
        sock.sendall(message.encode() + b"\n")
        test.assertEqual(recvLines(sock, 2), expected)


def checkChat(test, daemon: Daemon) -> None:
    """
    Two fresh Chat clients are welcomed, and a message from one reaches the other.
    """
    with (
        daemon.connect("chat", timeout=WAIT) as first,
        daemon.connect("chat", timeout=WAIT) as second,
    ):
        for sock in (first, second):
            lineClient(sock)
            test.assertIn(CHAT_WELCOME, recvUntilLine(sock, CHAT_WELCOME))
        # Four characters, so that scenarios may run with a tiny --max-line;
        # random, so that a token replayed from the room's history is not
        # mistaken for this one (a 1 in 14 million chance per check).
        token = "".join(random.choices(string.ascii_letters + string.digits, k=4)).encode()
        first.sendall(token + b"\n")
        test.assertIn(b"> " + token, recvUntilLine(second, b"> " + token))


def recvUntilLine(sock: socket.socket, marker: bytes, limit: int = 4 * MIB) -> bytes:
    """
    Read until a complete line containing C{marker} arrived (or the peer closed).
    """
    data = b""
    while len(data) < limit:
        end = data.rfind(b"\n")
        if end >= 0 and marker in data[:end]:
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class Pump:
    """
    Full-duplex traffic on several non-blocking sockets at once: send each
    socket's payload while reading everything that arrives on every socket,
    until a condition holds (or the peer closes, or a deadline passes).

    @ivar received: everything read, per socket.
    @ivar stalls: how often a socket could not take more of its payload (the
        daemon was not reading it: back-pressure or just busy).
    """

    def __init__(self, payloads: dict[socket.socket, bytes], readers: Sequence[socket.socket]):
        self.payloads = {sock: memoryview(data) for sock, data in payloads.items()}
        self.received: dict[socket.socket, bytearray] = {sock: bytearray() for sock in readers}
        self.closed: set[socket.socket] = set()
        self.stalls = 0
        for sock in {*payloads, *readers}:
            sock.setblocking(False)

    def run(
        self, done: Callable[[Pump], bool], what: str, timeout: float = 60.0, poll: float = 0.5
    ) -> Pump:
        """
        Pump until C{done(self)} (asked at least every C{poll} seconds); fail,
        saying C{what} was awaited, after C{timeout}.
        """
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for sock in {*self.payloads, *self.received}:
                events = (selectors.EVENT_READ if sock in self.received else 0) | (
                    selectors.EVENT_WRITE if self.payloads.get(sock) else 0
                )
                selector.register(sock, events)
            while not done(self):
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
                for key, events in selector.select(poll):
                    sock = key.fileobj
                    if events & selectors.EVENT_READ:
                        self._read(sock, selector)
                    if events & selectors.EVENT_WRITE and sock not in self.closed:
                        self._write(sock, selector)
        return self

    def _read(self, sock: socket.socket, selector) -> None:
        try:
            chunk = sock.recv(1 << 18)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionResetError:
            chunk = b""
        if chunk:
            self.received[sock] += chunk
        else:
            self.closed.add(sock)
            selector.unregister(sock)

    def _write(self, sock: socket.socket, selector) -> None:
        data = self.payloads[sock]
        try:
            sent = sock.send(data[: 1 << 18])
        except (BlockingIOError, InterruptedError):
            self.stalls += 1
            return
        except (BrokenPipeError, ConnectionResetError):
            self.closed.add(sock)
            selector.unregister(sock)
            return
        self.payloads[sock] = data = data[sent:]
        if sent < min(len(data) + sent, 1 << 18):
            self.stalls += 1
        if not data:
            if sock in self.received:
                selector.modify(sock, selectors.EVENT_READ)
            else:
                selector.unregister(sock)

    def lines(self, sock: socket.socket) -> list[bytes]:
        """
        The complete lines received on C{sock}, C{\r} stripped.
        """
        return [line.rstrip(b"\r") for line in bytes(self.received[sock]).split(b"\n")[:-1]]


_CHECKS: dict[str, Callable] = {"daytime": checkDaytime, "doctor": checkDoctor, "chat": checkChat}


def countLines(text: str, *fragments: str) -> int:
    """
    How many lines of C{text} contain every one of C{fragments}.
    """
    return sum(1 for line in text.splitlines() if all(f in line for f in fragments))


def expectedDoctor(messages: Sequence[str]) -> list[bytes]:
    """
    What a fresh Doctor session says: the greeting, then one reply per message.
    """
    doctor = Doctor()
    return [doctor.greeting().encode()] + [doctor.reply(m).encode() for m in messages]
