"""
Fault suite, load (issue 6, scenarios 3, 4, 5 and 7) against the real daemon:
slowloris, a connect-and-reset flood, a chat reader that never reads, and
SIGTERM under load.

Attack traffic comes from 127.0.0.2 and up; after each scenario the daemon must
pass the health check of L{tests.faults} (alive, every service serves a fresh
client from 127.0.0.1, clean log, bounded memory).
"""

from __future__ import annotations

import errno
import selectors
import signal
import socket
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.daemon import Daemon, recvAll
from tests.faults import (
    NO_CHAT_LIMITS,
    WAIT,
    Pump,
    Scenario,
    assertHealthy,
    attackAddress,
    attackConnect,
    lineClient,
    raiseOpenFilesLimit,
    recvLines,
    recvUntilLine,
    reset,
    services,
    waitFor,
    waitForDisconnects,
    waitForProbes,
)
from tests.test_faults_input import joinChat

#: Scenario 3: connections, and the seconds between their bytes.
SLOWLORIS = 200
TRICKLE_PERIOD = 1.0

#: Scenario 3's limits: small, so that they trigger within seconds.  The idle
#: timeout must exceed the trickle period (a byte a second is not idle), with
#: room for a loaded machine.
SLOW_MAX_LINE = 4
SLOW_IDLE = 3

#: Scenario 4: connections opened and reset at once.
FLOOD = 2000

#: Scenario 5: the chat send queue, and how much the flooder sends: twice what
#: the stuck reader's connection can absorb before its send queue overflows --
#: the daemon's kernel send buffer (it grows up to tcp_wmem's maximum, 4 MiB by
#: default, even towards a peer that reads nothing), the transport's 64 KiB and
#: the send queue itself -- so the reader must be dropped.
SENDQ = 256 * 1024
FLOOD_LINE = 1000
_WMEM_MAX = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
FLOOD_LINES = 2 * (_WMEM_MAX + 65536 + SENDQ) // FLOOD_LINE

#: Scenario 7: clients of each of chat and the Doctor, how many of them keep
#: sending, and how long the daemon may take to exit after SIGTERM.
SIGTERM_CLIENTS = 50
SIGTERM_ACTIVE = 10
SIGTERM_EXIT = 2.0

SHUTDOWN = b"* server shutting down"


def conversational() -> list[str]:
    return ["doctor", "chat"]


class SlowlorisTests(SynchronousTestCase):
    """
    Scenario 3: 200 connections, each trickling one byte a second.
    """

    def setUp(self):
        options = ["--max-line", str(SLOW_MAX_LINE), "--idle-timeout", str(SLOW_IDLE)]
        self.daemon = Daemon.start(services(*options))
        self.addCleanup(self.daemon.close)
        waitForProbes(self.daemon)

    def test_slowloris(self):
        """
        Line-mode trickles are refused once their line passes C{--max-line};
        course-style (bare) trickles are answered byte by byte; once they stop,
        every one of them is told C{ERR idle timeout} and closed.  Meanwhile
        everyone else is served.
        """
        kinds = conversational()
        tooLong = f"ERR line too long (max {SLOW_MAX_LINE} bytes)".encode()
        with Scenario(self, 3, "slowloris", self.daemon) as scenario:
            clients = []
            for index in range(SLOWLORIS):
                service = kinds[index % len(kinds)]
                sock = attackConnect(self.daemon, service, index % 40)
                bare = index % 4 == 3
                if not bare:
                    sock.sendall(b"\n")  # a line-mode client from now on
                clients.append((sock, service, bare))
            started = time.monotonic()
            for tick in range(1, SLOW_MAX_LINE + 2):
                # The attack's own pace (a byte a second), not a wait for the daemon.
                due = started + tick * TRICKLE_PERIOD
                waitFor(lambda due=due: time.monotonic() >= due, "the next tick")
                for sock, _, _ in clients:
                    sock.sendall(b"x")
                if tick == 2:
                    assertHealthy(self, self.daemon)
            trickled = time.monotonic() - started
            for sock, service, bare in clients:
                with sock:
                    sock.settimeout(SLOW_IDLE + WAIT)
                    data = recvAll(sock)
                # (Bare clients get their replies without line terminators.)
                self.assertTrue(data.rstrip(b"\r\n").endswith(b"ERR idle timeout"), data)
                lines = [line.rstrip(b"\r") for line in data.split(b"\n")]
                self.assertEqual(lines.count(tooLong), 0 if bare else 1, (service, bare, data))
            scenario.note(trickle_seconds=f"{trickled:.1f}")


class ConnectFloodTests(SynchronousTestCase):
    """
    Scenario 4: 2,000 connections opened at once, then reset.
    """

    def setUp(self):
        raiseOpenFilesLimit()
        self.daemon = Daemon.start(services())
        self.addCleanup(self.daemon.close)
        waitForProbes(self.daemon)

    def test_flood(self):
        """
        2,000 connections spread over the services (and 16 source addresses, to
        stay under the per-peer limit) are opened at once and reset; every one
        of them is cleaned up and service goes on.
        """
        names = list(self.daemon.ports)
        with Scenario(self, 4, "connect-flood", self.daemon) as scenario:
            socks = []
            try:
                for index in range(FLOOD):
                    sock = socket.socket()
                    socks.append(sock)
                    sock.setblocking(False)
                    sock.bind((attackAddress(index % 16), 0))
                    port = self.daemon.port(names[index % len(names)])
                    code = sock.connect_ex(("127.0.0.1", port))
                    self.assertIn(code, (0, errno.EINPROGRESS))
                connected = self._waitConnected(socks)
            finally:
                for sock in socks:
                    reset(sock)
            for name in names:
                waitForDisconnects(self.daemon, name, 0, timeout=30)
            scenario.note(connected=connected)
        self.assertEqual(connected, FLOOD)

    def _waitConnected(self, socks: list[socket.socket]) -> int:
        """
        Wait until every socket's connection is established (or failed);
        return how many were.
        """
        connected = 0
        deadline = time.monotonic() + 3 * WAIT
        with selectors.DefaultSelector() as selector:
            for sock in socks:
                selector.register(sock, selectors.EVENT_WRITE)
            pending = len(socks)
            while pending and time.monotonic() < deadline:
                for key, _ in selector.select(0.5):
                    selector.unregister(key.fileobj)
                    pending -= 1
                    if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        connected += 1
        return connected


class StuckReaderTests(SynchronousTestCase):
    """
    Scenario 5: a chat client that never reads while another floods the room.
    """

    def setUp(self):
        options = ["--chat-sendq", str(SENDQ), *NO_CHAT_LIMITS]
        self.daemon = Daemon.start(services(*options))
        self.addCleanup(self.daemon.close)
        waitForProbes(self.daemon)

    def test_stuckReader(self):
        """
        The reader that never reads is dropped (C{--chat-sendq}) and announced
        as gone; the daemon's memory stays bounded; the two readers that do
        read receive every one of the flood's messages, in order.
        """
        with Scenario(self, 5, "stuck-reader", self.daemon):
            stuck = socket.socket()
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.bind((attackAddress(0), 0))
            stuck.settimeout(WAIT)
            stuck.connect(("127.0.0.1", self.daemon.port("chat")))
            welcome = recvUntilLine(lineClient(stuck), b"* You are ")
            stuckName = welcome.split(b"* You are ")[1].split(b".")[0]
            readers = [joinChat(self.daemon, index)[0] for index in (1, 2)]
            flooder, name = joinChat(self.daemon, 3)
            with stuck, flooder, readers[0], readers[1]:
                lines = [
                    f"{i:06d} ".encode().ljust(FLOOD_LINE - 1, b".") for i in range(FLOOD_LINES)
                ]
                pump = Pump({flooder: b"\n".join(lines) + b"\n"}, readers)
                left = b"* " + stuckName + b" has left"
                last = b"<" + name + b"> " + lines[-1]

                def done(p: Pump) -> bool:
                    return all(last in p.received[r] and left in p.received[r] for r in readers)

                pump.run(done, "the flood to arrive and the stuck reader to leave")
            for reader in readers:
                said = [line for line in pump.lines(reader) if line.startswith(b"<" + name)]
                self.assertEqual(said, [b"<" + name + b"> " + line for line in lines])
                self.assertIn(left + b" (send queue exceeded)", pump.received[reader])


class SigtermUnderLoadTests(SynchronousTestCase):
    """
    Scenario 7: SIGTERM while clients are connected and busy.
    """

    def setUp(self):
        # No chat flood limit, so that the chat flooders load the room as much
        # as the Doctor's do; what keeps the reactor turns short (and SIGTERM
        # prompt) is the per-turn budget of the framing and of the room.
        self.daemon = Daemon.start(services(*NO_CHAT_LIMITS))
        self.addCleanup(self.daemon.close)
        waitForProbes(self.daemon)

    def test_sigterm(self):
        """
        With 50 Doctor and 50 chat clients connected, ten of each sending as
        fast as the daemon reads (no chat flood limit), SIGTERM stops the
        daemon with status 0 within 2 s, and every client received
        C{* server shutting down}.
        """
        clients: dict[socket.socket, str] = {}
        payloads: dict[socket.socket, bytes] = {}
        for service in conversational():
            for index in range(SIGTERM_CLIENTS):
                sock = lineClient(attackConnect(self.daemon, service, index))
                recvLines(sock, 1)
                clients[sock] = service
                if index < SIGTERM_ACTIVE:
                    payloads[sock] = b"I feel sad today\n" * 50_000
        with Scenario(self, 7, "sigterm-under-load", self.daemon, stops=True) as scenario:
            stopped: dict[str, float] = {}
            pump = Pump(payloads, list(clients))

            def done(p: Pump) -> bool:
                if "signal" not in stopped and sum(map(len, p.received.values())) > 1 << 20:
                    scenario.measure()
                    stopped["signal"] = time.monotonic()
                    self.daemon.process.send_signal(signal.SIGTERM)
                if "signal" in stopped and "exit" not in stopped and not self.daemon.alive():
                    stopped["exit"] = time.monotonic()
                return "exit" in stopped and len(p.closed) == len(clients)

            try:
                pump.run(done, "the daemon to stop and every client to be closed", poll=0.01)
            finally:
                for sock in clients:
                    sock.close()
            elapsed = stopped["exit"] - stopped["signal"]
            scenario.note(exit_seconds=f"{elapsed:.2f}")
        self.assertEqual(self.daemon.process.returncode, 0, self.daemon.output()[-3000:])
        self.assertLess(elapsed, SIGTERM_EXIT)
        missing = [
            (clients[sock], bytes(pump.received[sock][-200:]))
            for sock in clients
            if SHUTDOWN not in pump.received[sock]
        ]
        self.assertEqual(missing, [])
        self.daemon.assertCleanLog()
