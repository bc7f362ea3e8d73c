"""
Browser tests: the public page and the teacher's dashboard of the real daemon
(C{twistd -n netlab}) in a real headless Chromium, next to plain TCP clients.

They skip, naming what is missing, without Debian's C{chromium} and
C{chromium-driver} or without C{selenium} (see L{tests.browser}).  Every wait is
bounded; no test sleeps to pass.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from netlab.doctor import Doctor
from tests.browser import WAIT, BrowserTestCase
from tests.daemon import Daemon

#: The dashboard's token in the token tests (the daemon wants at least 8 characters).
TOKEN = "s3cret-lab"

#: What a message crafted to run script in a page looks like.
HOSTILE = "<img src=x onerror=alert(1)>"

#: The rows of the dashboard's connection table: id and the text of each
#: column, by the column's class (col-service, col-name, ...).
_ROWS = """
return Array.from(document.querySelectorAll("#connections tr[data-id]"), (row) => {
    const cells = {};
    for (const cell of row.cells) {
        const column = Array.from(cell.classList).find((c) => c.startsWith("col-"));
        if (column) { cells[column.slice(4)] = cell.textContent; }
    }
    return {id: row.dataset.id, selected: row.classList.contains("selected"), cells: cells};
});
"""


class LineClient:
    """
    A telnet-style chat client on a blocking socket: it sends lines ending in
    C{\\n} and reads the server's lines one by one.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def send(self, line: str) -> None:
        """
        Send one line.
        """
        self.sock.sendall(line.encode("utf-8") + b"\n")

    def waitForLine(self, predicate: Callable[[str], bool], what: str) -> str:
        """
        Read lines until one satisfies C{predicate}; return it.

        @raise AssertionError: if none has within L{WAIT} seconds, or the
            server closed the connection.
        """
        deadline, seen = time.monotonic() + WAIT, []
        while True:
            while b"\n" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\n", 1)
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                seen.append(line)
                if predicate(line):
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"not within {WAIT} s: {what}; read {seen[-20:]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                chunk = None
            if chunk == b"":
                raise AssertionError(f"closed before {what}; read {seen[-20:]!r}")
            self.buffer += chunk or b""

    def close(self) -> None:
        self.sock.close()


def chatClient(daemon: Daemon, name: str) -> LineClient:
    """
    A line client in the room of C{daemon}'s chat service, named C{name}.
    """
    client = LineClient(daemon.connect("chat"))
    # An empty line first: this is a line client, as a telnet user pressing Enter.
    client.sock.sendall(b"\n")
    client.waitForLine(lambda line: line == "Welcome to my chat room!", "the chat greeting")
    client.send(f"/nick {name}")
    client.waitForLine(lambda line: name in line, f"the answer to /nick {name}")
    return client


def get(url: str) -> tuple[int, str]:
    """
    The status and body (as text) of C{GET url}.
    """
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read().decode("utf-8", "replace")


class DaemonBrowserTestCase(BrowserTestCase):
    """
    Browser tests against one daemon per class, started with C{options}.
    """

    options: list[str] = []
    daemon: Daemon | None = None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        if cls.browser is None:
            return
        try:
            cls.daemon = Daemon.start(cls.options)
        except BaseException:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.daemon is not None:
            cls.daemon.close()
            cls.daemon = None
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(self.daemon.assertCleanLog)


class WebBrowserTests(DaemonBrowserTestCase):
    """
    The public page and the dashboard of one daemon, with tracing on.
    """

    options = [
        "--web", "{port}", "--chat", "{port}", "--doctor", "{port}",
        "--daytime", "{port}", "--dashboard", "{port}", "--trace", "4K",
    ]

    def url(self, service: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.daemon.port(service)}{path}"

    def client(self, name: str) -> LineClient:
        client = chatClient(self.daemon, name)
        self.addCleanup(client.close)
        return client

    def openPublicPage(self) -> None:
        """
        Open the public page and wait until the chat room has greeted it.
        """
        self.browser.open(self.url("web"))
        self.browser.waitForChild(
            "#chat-log", lambda text: text == "Welcome to my chat room!", "the chat greeting"
        )
        self.addCleanup(self.assertNoConsoleErrors)

    def assertNoConsoleErrors(self) -> None:
        self.assertEqual(self.browser.consoleErrors(), [])

    def nick(self, name: str) -> None:
        """
        Take C{name} in the browser's chat and wait for the room's answer.
        """
        start = len(self.browser.childTexts("#chat-log"))
        self.browser.type("#chat-input", f"/nick {name}", enter=True)
        self.browser.waitForChild(
            "#chat-log",
            lambda text: name in text and not text.startswith(">"),
            f"the answer to /nick {name}",
            start,
        )

    def test_chatBothWays(self) -> None:
        """
        A browser user and a TCP line client in the same room each see the
        other's line as C{<name> text}; the browser shows its own line once, as
        its echo (the server does not send it back).
        """
        self.openPublicPage()
        client = self.client("tcpuser")
        self.nick("webuser")

        client.send("hello from tcp")
        self.browser.waitForChild(
            "#chat-log", lambda text: text == "<tcpuser> hello from tcp", "the TCP client's line"
        )

        self.browser.type("#chat-input", "hello from the web")
        self.browser.click("#chat-send")
        client.waitForLine(
            lambda line: line == "<webuser> hello from the web", "the browser user's line"
        )
        lines = self.browser.childTexts("#chat-log")
        self.assertIn("> hello from the web", lines)
        self.assertNotIn("<webuser> hello from the web", lines)
        self.assertEqual(self.browser.find("#chat-input").get_property("value"), "")

    def test_emptyInputSendsNothing(self) -> None:
        """
        Enter on an empty input sends nothing and shows nothing.
        """
        self.openPublicPage()
        client = self.client("quietuser")
        self.nick("emptyuser")
        before = self.browser.childTexts("#chat-log")
        self.browser.type("#chat-input", "", enter=True)
        self.browser.click("#chat-send")
        self.browser.type("#chat-input", "after nothing", enter=True)
        client.waitForLine(lambda line: line.endswith("after nothing"), "the line after nothing")
        self.assertEqual(self.browser.childTexts("#chat-log"), before + ["> after nothing"])

    def test_doctorAnswers(self) -> None:
        """
        The Doctor greets the browser, answers what it is told (as a fresh
        Doctor does), and ends the session on C{bye}; the page says it was
        disconnected and starts a new session on request.
        """
        doctor = Doctor()
        greeting = doctor.greeting()
        self.openPublicPage()
        self.browser.waitForChild("#doctor-log", lambda text: text == greeting, "the greeting")
        start = len(self.browser.childTexts("#doctor-log"))

        self.browser.type("#doctor-input", "I am unhappy", enter=True)
        reply = self.browser.waitForChild(
            "#doctor-log",
            lambda text: text != "> I am unhappy",
            "the Doctor's reply",
            start,
        )
        self.assertEqual(reply, doctor.reply("I am unhappy"))
        self.assertIn("> I am unhappy", self.browser.childTexts("#doctor-log")[start:])

        start = len(self.browser.childTexts("#doctor-log"))
        self.browser.type("#doctor-input", "bye", enter=True)
        self.browser.waitForChild(
            "#doctor-log", lambda text: text == "* disconnected", "the end of the session", start
        )
        self.assertFalse(self.browser.find("#doctor-input").is_enabled())
        self.assertTrue(self.browser.find("#doctor-reconnect").is_displayed())

        start = len(self.browser.childTexts("#doctor-log"))
        self.browser.click("#doctor-reconnect")
        self.browser.waitForChild(
            "#doctor-log", lambda text: text == greeting, "a new session's greeting", start
        )
        self.assertTrue(self.browser.find("#doctor-input").is_enabled())
        self.assertFalse(self.browser.find("#doctor-reconnect").is_displayed())

    def test_daytime(self) -> None:
        """
        The page shows the server's Day/Time (both lines, with the year) and
        fetches it again every second.
        """
        self.openPublicPage()
        first = self.browser.waitFor(
            lambda: (text := self.browser.text("#daytime")) and "Have a nice day!" in text and text,
            "the Day/Time",
        )
        self.assertRegex(first, r"\b(19|20|21)\d\d\b")
        self.browser.waitFor(
            lambda: (text := self.browser.text("#daytime")) != first and "Have a nice day!" in text,
            "the next second's Day/Time",
        )

    def test_hostileMessageIsText(self) -> None:
        """
        A message written as HTML shows as its characters, from the room and
        as the browser's own echo; nothing of it becomes an element or runs.
        """
        self.openPublicPage()
        client = self.client("mallory")
        client.send(HOSTILE)
        self.browser.waitForChild(
            "#chat-log", lambda text: text == f"<mallory> {HOSTILE}", "the hostile line, as text"
        )
        self.browser.type("#chat-input", HOSTILE, enter=True)
        client.waitForLine(lambda line: line.endswith(HOSTILE), "the browser's hostile line")
        self.assertIn(f"> {HOSTILE}", self.browser.childTexts("#chat-log"))
        self.assertEqual(self.browser.findAll("#chat-log img"), [])
        self.assertIsNone(self.browser.alertText())

    def rows(self) -> list[dict]:
        return self.browser.driver.execute_script(_ROWS)

    def test_dashboardTrace(self) -> None:
        """
        The dashboard lists a TCP chat client with its service, transport, peer
        address, name and framing mode; clicking its row shows its wire trace,
        escaped, with what it sent; the row stays selected across refreshes.
        """
        client = self.client("tcpdash")
        client.send("hello from tcp")
        peer = "127.0.0.1:%d" % client.sock.getsockname()[1]

        self.browser.open(self.url("dashboard"))

        def row() -> dict | None:
            return next((r for r in self.rows() if r["cells"].get("name") == "tcpdash"), None)

        found = self.browser.waitFor(row, "the TCP client's row, with its name")
        self.assertEqual(
            {key: found["cells"][key] for key in ("service", "transport", "peer", "mode")},
            {"service": "chat", "transport": "tcp", "peer": peer, "mode": "line"},
        )
        self.browser.click(f'#connections tr[data-id="{found["id"]}"]')
        trace = self.browser.waitFor(
            lambda: "hello from tcp\\n" in (text := self.browser.text("#trace")) and text,
            "the TCP client's line in its trace",
        )
        self.assertIn("/nick tcpdash\\n", trace)
        self.assertIn("\u2192 in", trace)
        self.assertIn("\u2190 out", trace)

        idle = row()["cells"]["idle"]
        self.browser.waitFor(lambda: row()["cells"]["idle"] != idle, "a refresh of the list")
        self.assertTrue(row()["selected"])
        self.assertEqual([r["id"] for r in self.rows() if r["selected"]], [found["id"]])
        self.browser.waitForChild("#events", lambda text: peer in text, "the client's event")
        self.assertIn("open connection", self.browser.text("#total"))

    def test_dashboardTraceOfClosedConnection(self) -> None:
        """
        Once the selected connection has closed, the trace pane says so.
        """
        client = self.client("tcpgone")
        self.browser.open(self.url("dashboard"))
        found = self.browser.waitFor(
            lambda: next((r for r in self.rows() if r["cells"].get("name") == "tcpgone"), None),
            "the TCP client's row",
        )
        self.browser.click(f'#connections tr[data-id="{found["id"]}"]')
        self.browser.waitFor(lambda: "/nick tcpgone" in self.browser.text("#trace"), "its trace")
        client.close()
        self.browser.waitFor(
            lambda: self.browser.findAll("#trace .trace-error"), "the trace pane's error"
        )
        self.assertIn(found["id"], self.browser.text("#trace .trace-error"))


class DashboardTokenTests(DaemonBrowserTestCase):
    """
    A dashboard started with a token answers only requests that carry it; the
    page passes on the token it was opened with.
    """

    options = ["--chat", "{port}", "--dashboard", "{port}", "--dashboard-token", TOKEN]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.daemon.port('dashboard')}{path}"

    def test_apiNeedsToken(self) -> None:
        """
        The API refuses a request without the token, or with a wrong one, with
        401 and a text saying why; it answers one with the token.
        """
        for path in ("/api/connections", "/api/connections?token=wrong", "/api/events"):
            status, body = get(self.url(path))
            self.assertEqual(status, 401, path)
            self.assertTrue(body.strip(), path)
        status, body = get(self.url(f"/api/connections?token={TOKEN}"))
        self.assertEqual(status, 200)
        self.assertIsInstance(json.loads(body), list)

    def test_pageWithToken(self) -> None:
        """
        Opened as C{/?token=TOKEN}, the page shows the live list and a trace
        request that carries the token (tracing is off here, which it says).
        """
        client = chatClient(self.daemon, "tokenuser")
        self.addCleanup(client.close)
        self.browser.open(self.url(f"/?token={TOKEN}"))
        found = self.browser.waitFor(
            lambda: next(
                (
                    r
                    for r in self.browser.driver.execute_script(_ROWS)
                    if r["cells"].get("name") == "tokenuser"
                ),
                None,
            ),
            "the client's row",
        )
        self.assertEqual(self.browser.text("#status"), "live")
        self.browser.click(f'#connections tr[data-id="{found["id"]}"]')
        error = self.browser.waitFor(
            lambda: self.browser.text("#trace .trace-error"), "the trace pane's answer"
        )
        self.assertIn("--trace", error)

    def test_pageWithoutToken(self) -> None:
        """
        Opened without the token, the page shows no connection, and says why.
        """
        client = chatClient(self.daemon, "hiddenuser")
        self.addCleanup(client.close)
        self.browser.open(self.url("/"))
        self.browser.waitFor(
            lambda: "401" in self.browser.text("body") or not self.browser.findAll("#status"),
            "the refusal",
        )
        self.assertEqual(self.browser.findAll("#connections tr[data-id]"), [])
        self.assertNotIn("hiddenuser", self.browser.text("body"))
        self.browser.consoleErrors()
