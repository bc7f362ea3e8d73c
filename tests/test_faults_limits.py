"""
Fault suite, the limits (issue 6): C{--max-connections}, C{--max-per-peer}, the
once-a-minute refusal log, C{--idle-timeout} and the open-files limit, end to
end against the real daemon.

Attack connections come from 127.0.0.2 and up; health checks from 127.0.0.1.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.daemon import Daemon, recvAll
from tests.faults import (
    WAIT,
    Scenario,
    attackAddress,
    attackConnect,
    countLines,
    expectedDoctor,
    lineClient,
    recvLines,
    services,
    waitFor,
    waitForDisconnects,
    waitForProbes,
)

REFUSED = b"ERR too many connections\r\n"


class ConnectionLimitTests(SynchronousTestCase):
    """
    C{--max-connections} caps one service's connections, whoever makes them.
    """

    def setUp(self):
        self.daemon = Daemon.start(
            services("--max-connections", "3", "--max-per-peer", "0", chat=False)
        )
        self.addCleanup(self.daemon.close)
        # Daemon.start's own probe connections must be gone before counting.
        waitForProbes(self.daemon)

    def test_overLimitRefused(self):
        """
        The fourth simultaneous Doctor connection is told C{ERR too many
        connections} and closed; the three are served; once one leaves, a new
        connection is served again.  Other services have limits of their own.
        """
        with Scenario(self, "limits", "max-connections", self.daemon), ExitStack() as stack:
            held = [
                stack.enter_context(attackConnect(self.daemon, "doctor", index))
                for index in range(3)
            ]
            greeting = expectedDoctor([])[0]
            for sock in held:
                self.assertEqual(recvLines(lineClient(sock), 1), [greeting])
            with attackConnect(self.daemon, "doctor", 3) as refused:
                self.assertEqual(recvAll(refused), REFUSED)
            # Day/Time is counted apart from the Doctor.
            with self.daemon.connect("daytime") as sock:
                self.assertIn(b"Have a nice day!", recvAll(sock))
            held.pop().close()
            waitForDisconnects(self.daemon, "doctor", 2)
            with attackConnect(self.daemon, "doctor", 4) as sock:
                self.assertEqual(recvLines(lineClient(sock), 1), [greeting])
            for sock in held:
                sock.close()
            # The health check needs a free slot: let the daemon see these go.
            waitForDisconnects(self.daemon, "doctor", 0)


class PeerLimitTests(SynchronousTestCase):
    """
    C{--max-per-peer} caps the connections from one IP address, per service.
    """

    LIMIT = 2

    def setUp(self):
        self.daemon = Daemon.start(services("--max-per-peer", str(self.LIMIT)))
        self.addCleanup(self.daemon.close)
        waitForProbes(self.daemon)

    def test_perPeer(self):
        """
        A peer at its limit is refused with C{ERR too many connections}; other
        peers (and 127.0.0.1's health check) are still served.
        """
        with Scenario(self, "limits", "max-per-peer", self.daemon), ExitStack() as stack:
            greeting = expectedDoctor([])[0]
            for _ in range(self.LIMIT):
                sock = stack.enter_context(attackConnect(self.daemon, "doctor", 0))
                self.assertEqual(recvLines(lineClient(sock), 1), [greeting])
            with attackConnect(self.daemon, "doctor", 0) as refused:
                self.assertEqual(recvAll(refused), REFUSED)
            with attackConnect(self.daemon, "doctor", 1) as other:
                self.assertEqual(recvLines(lineClient(other), 1), [greeting])

    def test_refusalsLoggedOncePerMinute(self):
        """
        Fifty refused attempts from one peer (on one service) are logged once;
        a second refused peer gets a line of its own.
        """
        attempts = 50
        with Scenario(self, "limits", "refusal-log", self.daemon), ExitStack() as stack:
            for index in (0, 1):
                for _ in range(self.LIMIT):
                    sock = stack.enter_context(attackConnect(self.daemon, "doctor", index))
                    recvLines(lineClient(sock), 1)
            for attempt in range(attempts):
                with attackConnect(self.daemon, "doctor", attempt % 2) as refused:
                    self.assertEqual(recvAll(refused), REFUSED)
        log = self.daemon.log()
        for index in (0, 1):
            peer = f"refused {attackAddress(index)}:"
            self.assertEqual(countLines(log, "doctor:", peer), 1, log[-3000:])
        self.assertEqual(countLines(log, "refused"), 2, log[-3000:])


class IdleTimeoutTests(SynchronousTestCase):
    """
    C{--idle-timeout} closes silent chat and Doctor clients, telling them first.
    """

    def setUp(self):
        self.daemon = Daemon.start(services("--idle-timeout", "1"))
        self.addCleanup(self.daemon.close)

    def assertTimesOut(self, service: str, first: bytes) -> None:
        with attackConnect(self.daemon, service) as sock:
            sock.settimeout(WAIT)
            data = recvAll(sock)
        # A client that never said anything may be a lockstep one: what it is
        # sent has no final line end; the notice comes on a line of its own.
        self.assertIn(first, data.split(b"\n")[0])
        self.assertTrue(data.endswith(b"\nERR idle timeout"), data)

    def test_doctor(self):
        """
        A Doctor client that says nothing gets the greeting, then C{ERR idle
        timeout}, then the end of the stream.
        """
        with Scenario(self, "limits", "idle-doctor", self.daemon):
            self.assertTimesOut("doctor", expectedDoctor([])[0])

    def test_chat(self):
        """
        The same for a chat client (after the welcome and hint lines).
        """
        with Scenario(self, "limits", "idle-chat", self.daemon):
            self.assertTimesOut("chat", b"Welcome to my chat room!")


class OpenFilesLimitTests(SynchronousTestCase):
    def test_logged(self):
        """
        The daemon raises its open-files soft limit to the hard limit at
        start-up, and logs the figure.
        """
        with Daemon.start(services(chat=False)) as daemon:
            limits = Path(f"/proc/{daemon.process.pid}/limits").read_text()
            soft, hard = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits).groups()
            self.assertEqual(soft, hard)
            match = waitFor(
                lambda: re.search(r"open-files limit: (\d+) \(hard limit (\d+)\)", daemon.log()),
                "the open-files log line",
            )
            self.assertEqual(match.groups(), (soft, hard))
