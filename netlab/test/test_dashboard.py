"""
Tests for L{netlab.web.dashboard}: who may see it, its JSON API and its live
view, in memory.
"""

from __future__ import annotations

import json

from twisted.trial.unittest import SynchronousTestCase

from netlab.guard import GuardFactory
from netlab.monitor import ConnectionMonitor
from netlab.test.webclient import FakeWebSocket, httpGet
from netlab.testing import UNLIMITED, FakeChatRoom
from netlab.web.dashboard import LIVE_INTERVAL, dashboardSite


class DashboardSetup:
    """
    A chat room over TCP, and a dashboard watching it.
    """

    token: str | None = None
    traceSize = 4096

    def setUp(self) -> None:
        self.room = FakeChatRoom(**UNLIMITED)
        self.clock = self.room.clock
        self.monitor = ConnectionMonitor(self.clock, traceSize=self.traceSize)
        self.chat = GuardFactory(self.room.factory, "chat", self.clock, monitor=self.monitor)
        site = dashboardSite(self.clock, self.monitor, self.token)
        self.dashboard = GuardFactory(site, "dashboard", self.clock, monitor=self.monitor)
        self.dashboard.connectionEvents = False

    def get(self, path: str, **headers: str) -> tuple[int, object]:
        status, fields, body = httpGet(self.dashboard, path, **headers)
        if fields.get("content-type") == "application/json":
            return status, json.loads(body)
        return status, body.decode()


class LocalOnlyTests(DashboardSetup, SynchronousTestCase):
    """
    Without a token, the dashboard answers only requests addressed to this
    machine, from no other site.
    """

    def test_thisMachine(self) -> None:
        """
        127.0.0.1, ::1 and localhost may; another name (a rebinding site) may not.
        """
        for host in ("127.0.0.1:21570", "[::1]:21570", "localhost:21570", "localhost"):
            self.assertEqual(self.get("/api/connections", host=host)[0], 200, host)
        status, body = self.get("/api/connections", host="attacker.example:21570")
        self.assertEqual(status, 403)
        self.assertIn("--dashboard-token", body)
        self.assertEqual(self.get("/", host="attacker.example")[0], 403)

    def test_otherSite(self) -> None:
        """
        A request or WebSocket from another site's page is refused; the
        dashboard's own page may.
        """
        status, _ = self.get("/api/connections", Origin="http://attacker.example")
        self.assertEqual(status, 403)
        view = FakeWebSocket(self.dashboard, "/api/live", host="127.0.0.1:21570",
                             origin="http://attacker.example")
        self.assertEqual(view.status, 403)
        view = FakeWebSocket(self.dashboard, "/api/live", host="127.0.0.1:21570",
                             origin="http://127.0.0.1:21570")
        self.assertTrue(view.accepted)

    def test_staticFiles(self) -> None:
        """
        The page's script and style hold no data: served to anyone.
        """
        status, _ = self.get("/static/dashboard.js", host="attacker.example")
        self.assertEqual(status, 200)


class TokenTests(DashboardSetup, SynchronousTestCase):
    """
    With a token, every request but the static files must carry it.
    """

    token = "correct horse"

    def test_token(self) -> None:
        """
        C{?token=} or C{Authorization: Bearer}; none, or a wrong one, is 401
        with a hint.  Any host name may be used.
        """
        host = "netlab.example:21570"
        status, body = self.get("/api/connections", host=host)
        self.assertEqual(status, 401)
        self.assertIn("/?token=", body)
        self.assertEqual(self.get("/api/connections?token=wrong", host=host)[0], 401)
        self.assertEqual(self.get("/api/connections?token=correct%20horse", host=host)[0], 200)
        self.assertEqual(self.get("/?token=correct%20horse", host=host)[0], 200)
        ok = self.get("/api/events", host=host, Authorization="Bearer correct horse")
        self.assertEqual(ok[0], 200)
        self.assertEqual(self.get("/static/style.css", host=host)[0], 200)


class APITests(DashboardSetup, SynchronousTestCase):
    """
    C{/api/connections}, traces and events.
    """

    def test_connections(self) -> None:
        """
        Every open connection, with what the issue asks for; a chat member
        by name and framing mode.
        """
        alice = self.room.connectOne(factory=self.chat)
        alice.send("/nick alice", "hello")
        self.room.flush()
        status, connections = self.get("/api/connections")
        self.assertEqual(status, 200)
        chat = [c for c in connections if c["service"] == "chat"]
        self.assertEqual(len(chat), 1)
        (member,) = chat
        self.assertEqual(
            {k: member[k] for k in ("name", "mode", "transport", "messages_in", "bytes_in")},
            {"name": "alice", "mode": "line", "transport": "tcp", "messages_in": 3,
             "bytes_in": len(b"\r\n/nick alice\r\nhello\r\n")},
        )
        self.assertGreater(member["bytes_out"], 0)
        self.assertEqual(member["peer"], f"{alice.transport.getPeer().host}:"
                         f"{alice.transport.getPeer().port}")
        self.assertEqual(member["since"], self.clock.seconds())

    def test_trace(self) -> None:
        """
        A connection's trace, escaped; an unknown one is 404.
        """
        alice = self.room.connectOne(factory=self.chat)
        self.clock.advance(1)
        alice.sendBytes(b"no newline\x00\xff\xf4")
        status, connections = self.get("/api/connections")
        (member,) = [c for c in connections if c["service"] == "chat"]
        status, trace = self.get(f"/api/connections/{member['id']}/trace")
        self.assertEqual(status, 200)
        self.assertEqual([text for _, text in trace["in"]], ["\\r\\n", "no newline\\x00[IAC IP]"])
        self.assertEqual(trace["in"][1][0], self.clock.seconds())
        self.assertTrue(trace["out"][0][1].startswith("Welcome to my chat room!\\r\\n"))
        self.assertEqual(trace["size"], 4096)
        status, error = self.get("/api/connections/9999/trace")
        self.assertEqual((status, error), (404, {"error": "no connection 9999 (it has closed)"}))
        self.assertEqual(self.get("/api/connections/x/trace")[0], 404)

    def test_events(self) -> None:
        """
        Connects, limits hit (with the chat name) and disconnects, after a
        given number.
        """
        alice = self.room.connectOne(factory=self.chat)
        alice.send("/nick alice", "x" * 5000)
        alice.disconnect()
        status, answer = self.get("/api/events?after=0")
        kinds = [(e["kind"], e["service"], e["name"]) for e in answer["events"]]
        self.assertEqual(kinds[:3], [("connect", "chat", None), ("limit", "chat", "alice"),
                                     ("disconnect", "chat", "alice")])
        self.assertEqual(answer["events"][1]["text"], "line too long (max 4096 bytes)")
        last = answer["last"]
        self.assertEqual(self.get(f"/api/events?after={last}")[1]["events"], [])


class NoTraceTests(DashboardSetup, SynchronousTestCase):
    """
    Without C{--trace}, no connection keeps a trace, and the API says how to
    get one.
    """

    traceSize = 0

    def test_tracingOff(self) -> None:
        self.room.connectOne(factory=self.chat)
        _, connections = self.get("/api/connections")
        (member,) = [c for c in connections if c["service"] == "chat"]
        self.assertFalse(member["traced"])
        status, error = self.get(f"/api/connections/{member['id']}/trace")
        self.assertEqual(status, 409)
        self.assertIn("--trace 4K", error["error"])


class LiveTests(DashboardSetup, SynchronousTestCase):
    """
    The live view: the connections and the new events, every second, but not
    to a view that does not read.
    """

    def test_live(self) -> None:
        view = FakeWebSocket(self.dashboard, "/api/live", host="127.0.0.1:21570")
        (first,) = view.read()
        first = json.loads(first)
        self.assertEqual(first["total"], 1)  # the view's own connection
        self.room.connectOne(factory=self.chat)
        self.clock.advance(LIVE_INTERVAL)
        (second,) = [json.loads(m) for m in view.read()]
        self.assertEqual(second["total"], 2)
        self.assertEqual([e["kind"] for e in second["events"]], ["connect"])
        self.assertEqual({c["service"] for c in second["connections"]}, {"chat", "dashboard"})

    def test_notReading(self) -> None:
        """
        A view whose transport is full is skipped until it reads again.
        """
        view = FakeWebSocket(self.dashboard, "/api/live", host="127.0.0.1:21570")
        view.transport.bufferSize = 10
        self.clock.advance(LIVE_INTERVAL)  # paused by this write
        before = len(view.transport.value())
        self.clock.advance(LIVE_INTERVAL * 5)
        self.assertEqual(len(view.transport.value()), before)
        view.read()
        self.clock.advance(LIVE_INTERVAL)
        self.assertEqual(len(view.read()), 1)


class HostileRequestTests(DashboardSetup, SynchronousTestCase):
    """
    What any page or peer can send gets an answer, not a traceback.
    """

    def test_hugeNumbers(self) -> None:
        self.assertEqual(self.get("/api/connections/" + "9" * 5000 + "/trace")[0], 404)
        self.assertEqual(self.get("/api/events?after=" + "9" * 5000)[0], 200)

    def test_sandboxedFrame(self) -> None:
        """
        C{Origin: null} (a sandboxed frame) and C{Sec-Fetch-Site: cross-site}
        are another site's requests.
        """
        view = FakeWebSocket(self.dashboard, "/api/live", host="127.0.0.1:21570", origin="null")
        self.assertEqual(view.status, 403)
        status, _ = self.get("/api/connections", Sec_Fetch_Site="cross-site")
        self.assertEqual(status, 403)
