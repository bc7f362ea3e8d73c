"""
Tests for L{netlab.web.public} and L{netlab.web.stream}: browser members of
the chat and the Doctor, in memory, through the guard as in the daemon.
"""

from __future__ import annotations

from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from wsproto.events import BytesMessage, Ping, TextMessage

from netlab.doctor.doctor import Doctor
from netlab.doctor.service import DoctorFactory
from netlab.framing import READ_AHEAD
from netlab.guard import GuardFactory
from netlab.monitor import ConnectionMonitor
from netlab.ratelimit import Rate
from netlab.test.webclient import FakeWebSocket, connect, httpGet
from netlab.testing import UNLIMITED, FakeChatRoom
from netlab.web.public import publicSite
from netlab.web.stream import GOING_AWAY, NORMAL, TOO_BIG, messageLimit


class WebSetup:
    """
    A chat room and a Doctor, served over TCP and on the public page, all
    watched by one monitor.
    """

    chatOptions: dict = UNLIMITED

    def setUp(self) -> None:
        self.room = FakeChatRoom(idleTimeout=600, **self.chatOptions)
        self.clock = self.room.clock
        self.monitor = ConnectionMonitor(self.clock, traceSize=4096)
        self.doctor = DoctorFactory(self.clock, rate=None)
        site = publicSite(self.clock, self.room.factory, self.doctor, "ctime")
        self.web = GuardFactory(site, "web", self.clock, monitor=self.monitor)
        self.chatGuard = GuardFactory(self.room.factory, "chat", self.clock, monitor=self.monitor)

    def browser(self, path: str = "/ws/chat", **options) -> FakeWebSocket:
        socket = FakeWebSocket(self.web, path, **options)
        self.clock.advance(0)
        return socket

    def telnet(self):
        client = self.room.connectOne(factory=self.chatGuard)
        self.room.flush()
        return client


class ChatInBrowserTests(WebSetup, SynchronousTestCase):
    """
    A browser member is a member of the same room as the TCP clients.
    """

    def test_bothWays(self) -> None:
        """
        A browser and a telnet client see each other's lines, names and
        joins; the browser gets one line per message, without terminators.
        """
        browser = self.browser()
        welcome = browser.read()
        self.assertEqual(welcome[0], "Welcome to my chat room!")
        self.assertTrue(welcome[1].startswith("* You are guest-"))
        telnet = self.telnet()
        telnet.read()
        telnet.send("/nick tcpuser", "hello from tcp")
        self.room.flush()
        self.assertIn("<tcpuser> hello from tcp", browser.read())
        browser.send("hi from the browser <img src=x onerror=alert(1)>")
        self.room.flush()
        name = welcome[1].split()[3].rstrip(".")
        self.assertIn(f"<{name}> hi from the browser <img src=x onerror=alert(1)>", telnet.lines())

    def test_commands(self) -> None:
        """
        Commands work as for anyone: /nick, /who, and errors as C{ERR} messages.
        """
        browser = self.browser()
        browser.read()
        browser.send("/nick webby")
        browser.send("/who")
        browser.send("/nosuch")
        self.room.flush()
        self.assertEqual(
            browser.read(),
            ["* You are now webby.", "* 1 in the room: webby",
             "ERR unknown command /nosuch (try /help)"],
        )

    def test_multiLineMessage(self) -> None:
        """
        A message with line breaks is several lines, as pasted into telnet.
        """
        browser = self.browser()
        telnet = self.telnet()
        telnet.read()
        browser.send("one\ntwo")
        self.room.flush()
        self.assertEqual([line.split("> ")[1] for line in telnet.lines()], ["one", "two"])

    def test_history(self) -> None:
        """
        A browser newcomer gets the recent history, UTF-8 intact.
        """
        telnet = self.telnet()
        telnet.send("café ☕")
        self.room.flush()
        self.assertIn("<guest-1> café ☕", self.browser().read())

    def test_dashboardSeesTheMember(self) -> None:
        """
        The monitor lists the browser as a chat member over a WebSocket, by
        name, its messages counted and its trace the messages' text.
        """
        browser = self.browser()
        browser.send("/nick webby")
        browser.send("hello")
        self.room.flush()
        (connection,) = self.monitor.connections()
        described = self.monitor.describe(connection)
        self.assertEqual(
            (described["service"], described["transport"], described["name"], described["mode"]),
            ("chat", "websocket", "webby", "websocket"),
        )
        self.assertEqual(described["messages_in"], 2)
        received = [text for _, text in connection.trace.asJSON()["in"]]
        self.assertEqual(received[-2:], ["/nick webby\\n", "hello\\n"])

    def test_slowBrowserDropped(self) -> None:
        """
        A browser that stops reading is dropped past the send-queue bound;
        the others keep receiving.
        """
        slow, telnet = self.browser(), self.telnet()
        self.room.factory.sendq = 100_000
        for n in range(400):
            telnet.send(f"{n} " + "z" * 1000)
            self.room.flush()
            telnet.read()
            if slow.disconnecting:
                break
        self.assertTrue(slow.disconnecting)
        kinds = [(e["kind"], e["text"]) for e in self.monitor.eventsAfter(0)]
        self.assertIn(("limit", "send queue exceeded (100000 bytes owed)"), kinds)


class LimitTests(WebSetup, SynchronousTestCase):
    """
    The same limits as a TCP line, and the WebSocket's own.
    """

    chatOptions = {"rate": Rate(5.0, 20), "addressRate": None, "addressBytes": None}

    def setUp(self) -> None:
        super().setUp()
        self.logged: list[dict] = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def test_longLine(self) -> None:
        """
        A message over the service's longest line is refused like a TCP
        line, logged once, and the browser stays.
        """
        browser = self.browser()
        browser.read()
        browser.send("x" * 5000)
        self.room.flush()
        self.assertEqual(browser.read(), ["ERR line too long (max 4096 bytes)"])
        browser.send("/who")
        self.room.flush()
        self.assertEqual(len(browser.read()), 1)
        lines = [e for e in self.logged if "line too long" in str(e.get("log_format", ""))
                 or "line too long" in str(e.get("text", ""))]
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]["service"], "chat")

    def test_hugeMessageCloses(self) -> None:
        """
        Bytes that complete no message, past what the longest line can take,
        close that connection only (1009), and the browser is told why.
        """
        browser, other = self.browser(), self.browser()
        header = bytes([0x81, 0xFF]) + (10 << 20).to_bytes(8, "big") + b"mask"
        browser.sendRaw(header)
        chunk = b"a" * 65536
        for _ in range(messageLimit(4096) // len(chunk) + 2):
            if browser.disconnecting:
                break
            browser.sendRaw(chunk)
        self.assertTrue(browser.disconnecting)
        self.assertTrue(any("no whole message" in m for m in browser.read()))
        self.assertEqual(browser.closeCode, TOO_BIG)
        other.read()
        other.send("/who")
        self.room.flush()
        self.assertEqual(len(other.read()), 1)

    def test_binaryRefused(self) -> None:
        """
        A binary message gets an C{ERR} line; the connection stays.
        """
        browser = self.browser()
        browser.read()
        browser.sendRaw(browser.ws.send(BytesMessage(b"\x00\x01")))
        self.assertEqual(browser.read(), ["ERR binary messages are not accepted (send text)"])
        self.assertFalse(browser.disconnecting)

    def test_malformedFrame(self) -> None:
        """
        A malformed frame (an unmasked client frame) closes that connection;
        the others carry on.
        """
        browser, other = self.browser(), self.browser()
        browser.sendRaw(b"\x81\x05hello")
        self.assertTrue(browser.disconnecting)
        other.read()
        other.send("/who")
        self.room.flush()
        self.assertEqual(len(other.read()), 1)

    def test_rate(self) -> None:
        """
        Messages beyond the member's pace wait, with one notice, and all
        arrive in order.
        """
        browser, telnet = self.browser(), self.telnet()
        browser.read()
        telnet.read()
        for n in range(30):
            browser.send(f"line {n}")
        self.room.flush()
        self.assertTrue(any(m.startswith("ERR slow down") for m in browser.read()))
        self.clock.advance(10)
        self.room.flush()
        said = [line.split("> ")[1] for line in telnet.lines() if "> line" in line]
        self.assertEqual(said, [f"line {n}" for n in range(30)])

    def test_idleTimeout(self) -> None:
        """
        A silent browser is timed out like a silent telnet user.
        """
        browser = self.browser()
        browser.read()
        self.clock.advance(601)
        self.room.flush()
        self.assertIn("ERR idle timeout", browser.read())
        self.assertEqual(browser.closeCode, NORMAL)

    def test_floodWhileNotReading(self) -> None:
        """
        A browser that does not read and keeps sending (pings, each earning a
        pong) is no longer read from after L{READ_AHEAD} bytes.
        """
        browser = self.browser()
        browser.transport.bufferSize = 10
        browser.sendRaw(browser.ws.send(Ping(b"p" * 100)) * 10)  # fills its transport
        ping = browser.ws.send(Ping(b"p" * 100))
        for _ in range(READ_AHEAD // len(ping) + 2):
            browser.sendRaw(ping)
        self.assertEqual(browser.transport.producerState, "paused")
        browser.read()
        self.assertEqual(browser.transport.producerState, "producing")


class DoctorInBrowserTests(WebSetup, SynchronousTestCase):
    """
    A browser Doctor session is an ordinary Doctor session.
    """

    def test_session(self) -> None:
        """
        The greeting, one reply per message, and a goodbye that closes.
        """
        browser = self.browser("/ws/doctor")
        self.assertEqual(browser.read(), [Doctor(self.doctor.script).greeting()])
        browser.send("I am unhappy")
        (reply,) = browser.read()
        self.assertIn("unhappy", reply.lower())
        browser.send("bye")
        self.assertEqual(len(browser.read()), 1)
        self.assertEqual(browser.closeCode, NORMAL)


class SiteTests(WebSetup, SynchronousTestCase):
    """
    The page, the time, and what the site refuses.
    """

    def test_page(self) -> None:
        """
        C{/} is the page with the elements tests drive; its files are served
        with their types and the security headers.
        """
        status, headers, body = httpGet(self.web, "/")
        self.assertEqual(status, 200)
        for id in ("chat-input", "chat-send", "chat-log", "doctor-input", "doctor-send",
                   "doctor-log", "daytime"):
            self.assertIn(f'id="{id}"'.encode(), body)
        self.assertIn("default-src 'self'", headers["content-security-policy"])
        status, headers, _ = httpGet(self.web, "/static/app.js")
        self.assertEqual((status, headers["content-type"]),
                         (200, "text/javascript; charset=utf-8"))
        self.assertEqual(httpGet(self.web, "/static/")[0], 404)

    def test_daytime(self) -> None:
        """
        C{/daytime} is what the Day/Time service sends, by the server's clock.
        """
        self.clock.advance(86400 * 365.25 * 30)
        status, headers, body = httpGet(self.web, "/daytime")
        self.assertEqual((status, headers["cache-control"]), (200, "no-store"))
        self.assertTrue(body.endswith(b"2000\nHave a nice day!\n"), body)

    def test_notAWebSocket(self) -> None:
        """
        A plain request for a WebSocket gets 400 and a reason, and no error
        in the log (any peer can send them).
        """
        logged: list[dict] = []
        globalLogPublisher.addObserver(logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, logged.append)
        status, _, body = httpGet(self.web, "/ws/chat")
        self.assertEqual(status, 400)
        self.assertIn(b"not a WebSocket handshake", body)
        self.assertEqual([e for e in logged if e.get("log_level") is not None
                          and e["log_level"].name == "error"], [])

    def test_otherSitesPages(self) -> None:
        """
        A WebSocket opened by another site's page is refused; the page's own
        (and a client that sends no C{Origin}) is not.
        """
        refused = FakeWebSocket(self.web, "/ws/chat", origin="http://attacker.example")
        self.assertEqual(refused.status, 403)
        own = FakeWebSocket(self.web, "/ws/chat", origin="http://127.0.0.1:21569")
        self.assertTrue(own.accepted)
        self.assertTrue(FakeWebSocket(self.web, "/ws/doctor").accepted)

    def test_bodyNotKept(self) -> None:
        """
        A request body is read and thrown away, however large.
        """
        protocol, transport = connect(self.web)
        protocol.dataReceived(
            b"POST /daytime HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"
        )
        for _ in range(100):
            protocol.dataReceived(b"\0" * 65536)
        request = protocol.wrappedProtocol.requests[0]
        self.assertEqual(request.content.tell(), 0)

    def test_shutdown(self) -> None:
        """
        On shutdown a browser member is told, as a telnet user is, and closed.
        """
        browser = self.browser()
        browser.read()
        self.web.shutdown()
        self.room.flush()
        self.assertEqual(browser.read()[-1], "* server shutting down")
        self.assertIn(browser.closeCode, (NORMAL, GOING_AWAY))


class ManyMessagesTests(WebSetup, SynchronousTestCase):
    """
    Many small messages in one read cost the daemon time linear in their
    number, even once the member's messages wait.
    """

    chatOptions = {"rate": Rate(5.0, 20), "addressRate": None, "addressBytes": None}

    def test_manyEmptyMessages(self) -> None:
        browser, telnet = self.browser(), self.telnet()
        browser.read()
        telnet.read()
        frames = b"".join(browser.ws.send(TextMessage(f"m{n}")) for n in range(5000))
        received: list[int] = []
        protocol = browser.protocol.wrappedProtocol.member.protocol
        original = protocol.dataReceived

        def counting(data: bytes) -> None:
            received.append(len(data))
            original(data)

        protocol.dataReceived = counting
        browser.sendRaw(frames)
        # Past its burst, the member holds: the rest of the read is handed
        # over later, in one piece, not message by message.
        self.assertLess(len(received), 50)
        self.clock.advance(2)
        self.room.flush()
        said = [line for line in telnet.lines() if "> m" in line]
        self.assertEqual([line.split("> ")[1] for line in said],
                         [f"m{n}" for n in range(len(said))])
        self.assertGreater(len(said), 20)


class HandshakeTests(WebSetup, SynchronousTestCase):
    """
    Odd handshakes get a 400, and nothing in the log louder than a warning.
    """

    def setUp(self) -> None:
        super().setUp()
        self.logged: list[dict] = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def handshake(self, *extra: str, version: str = "1.1") -> int:
        protocol, transport = connect(self.web)
        lines = [f"GET /ws/chat HTTP/{version}", "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
                 *extra]
        protocol.dataReceived("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n")
        return int(transport.value().split(b" ", 2)[1])

    def test_oddBytes(self) -> None:
        """
        Non-ASCII bytes in WebSocket headers, or no C{Host}, are refused
        without a traceback.
        """
        self.assertEqual(self.handshake("Host: x", "Sec-WebSocket-Protocol: caf\xe9"), 400)
        self.assertEqual(self.handshake("Host: x", "Sec-WebSocket-Extensions: \xff"), 400)
        self.assertEqual(self.handshake(version="1.0"), 400)
        levels = {event["log_level"].name for event in self.logged if "log_level" in event}
        self.assertFalse(levels & {"error", "critical"}, self.logged)


class PipeliningTests(WebSetup, SynchronousTestCase):
    """
    A peer that pipelines requests and does not read is not read from
    either, past a bound.
    """

    def test_pipelinedNotReading(self) -> None:
        protocol, transport = connect(self.web)
        transport.bufferSize = 1000  # its answers fill the transport at once
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        for _ in range(READ_AHEAD // len(request) * 3):
            if transport.producerState == "paused":
                break
            protocol.dataReceived(request)
        self.assertEqual(transport.producerState, "paused")
        while transport.producerState == "paused":
            transport.read()
        self.assertEqual(transport.producerState, "producing")
