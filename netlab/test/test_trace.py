"""
Tests for L{netlab.trace} (wire traces) and L{netlab.monitor} (events and
log lines).
"""

from __future__ import annotations

from types import SimpleNamespace

from twisted.internet.task import Clock
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from netlab.monitor import KEEP_EVENTS, ConnectionMonitor
from netlab.test.extras import given
from netlab.test.extras import strategies as st
from netlab.trace import MAX_CHUNKS, TraceRing, WireTrace, escape


class EscapeTests(SynchronousTestCase):
    """
    Every byte shows.
    """

    def test_controls(self) -> None:
        self.assertEqual(escape(b"hi\r\n\t\x00\x07\x7f\\"), "hi\\r\\n\\t\\x00\\x07\\x7f\\\\")

    def test_telnet(self) -> None:
        """
        Telnet commands are named; IAC IAC is a literal 0xFF.
        """
        self.assertEqual(escape(b"\xff\xf4\xff\xfd\x06"), "[IAC IP][IAC DO TIMING-MARK]")
        self.assertEqual(escape(b"\xff\xfb\x01\xff\xff"), "[IAC WILL ECHO]\\xff")
        self.assertEqual(escape(b"\xff\xfd\xc8"), "[IAC DO 200]")
        self.assertEqual(escape(b"a\xff"), "a[IAC]")

    def test_utf8(self) -> None:
        """
        Valid UTF-8 shows as text; invalid bytes and invisible characters as escapes.
        """
        self.assertEqual(escape("café ☕".encode()), "café ☕")
        self.assertEqual(escape(b"\xc3(\x80"), "\\xc3(\\x80")
        self.assertEqual(escape("a\u200bb\u202e".encode()), "a\\u200bb\\u202e")

    @given(lambda: st.binary(max_size=200))
    def test_anyBytes(self, data: bytes) -> None:
        """
        Whatever the bytes, the text is printable (no raw control characters).
        """
        self.assertTrue(escape(data).isprintable())


class TraceRingTests(SynchronousTestCase):
    """
    A bounded record of recent bytes, with times.
    """

    def test_keepsTheLastBytes(self) -> None:
        ring = TraceRing(10)
        for when, chunk in enumerate([b"abc", b"defgh", b"ijklmnop", b"q"]):
            ring.add(when, chunk)
        self.assertEqual(ring.chunks(), [(1.0, b"h"), (2.0, b"ijklmnop"), (3.0, b"q")])

    def test_oneHugeChunk(self) -> None:
        ring = TraceRing(4)
        ring.add(1, b"0123456789")
        ring.add(2, b"ab")
        self.assertEqual(ring.chunks(), [(1.0, b"89"), (2.0, b"ab")])

    def test_manyTinyChunks(self) -> None:
        """
        A byte at a time (telnet in character mode): the bytes are all kept,
        the oldest chunks merged, so the bookkeeping stays bounded.
        """
        ring = TraceRing(4096)
        for n in range(3000):
            ring.add(n, b"k")
        chunks = ring.chunks()
        self.assertEqual(len(chunks), MAX_CHUNKS)
        self.assertEqual(sum(len(data) for _, data in chunks), 3000)
        self.assertEqual(chunks[-1], (2999.0, b"k"))

    @given(lambda: st.lists(st.binary(max_size=50), max_size=100), lambda: st.integers(1, 64))
    def test_bounded(self, chunks: list[bytes], size: int) -> None:
        """
        The ring holds exactly the last C{size} bytes, in order.
        """
        ring = TraceRing(size)
        for when, chunk in enumerate(chunks):
            ring.add(when, chunk)
        kept = b"".join(data for _, data in ring.chunks())
        self.assertEqual(kept, b"".join(chunks)[-size:] if chunks else b"")
        self.assertLessEqual(len(ring.chunks()), MAX_CHUNKS)

    def test_json(self) -> None:
        trace = WireTrace(100)
        trace.received.add(1.5, b"hi\n")
        trace.sent.add(2.5, b"\xff\xfb\x06")
        self.assertEqual(trace.asJSON(),
                         {"in": [[1.5, "hi\\n"]], "out": [[2.5, "[IAC WILL TIMING-MARK]"]]})


class MonitorTests(SynchronousTestCase):
    """
    Events are kept bounded; limits and refusals are logged, throttled per
    peer and kind, naming the service, the peer and the chat name.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.monitor = ConnectionMonitor(self.clock)
        self.logged: list[str] = []
        observer = lambda event: self.logged.append(formatEvent(event))  # noqa: E731
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.connection = SimpleNamespace(
            member=SimpleNamespace(name="alice"), serviceName="chat",
            peerText="127.0.0.5:4000", peerKey="127.0.0.5",
        )

    def test_limitLogged(self) -> None:
        self.monitor.limitHit(self.connection, "line too long (max 4096 bytes)")
        self.monitor.limitHit(self.connection, "line too long (max 4096 bytes)")
        self.monitor.limitHit(self.connection, "slow down: 5 lines a second")
        lines = [line for line in self.logged if "127.0.0.5" in line]
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith(
            "chat: 127.0.0.5:4000 (alice): line too long (max 4096 bytes)"), lines[0])
        self.assertEqual(len(self.monitor.eventsAfter(0)), 3)

    def test_limitPerPersonOrAddress(self) -> None:
        """
        Limits are logged once per person behind an address, but slow-downs
        (C{perAddress}) once for the address, however many of its
        connections wait.
        """
        bob = SimpleNamespace(**{**vars(self.connection), "member": SimpleNamespace(name="bob")})
        for connection in (self.connection, bob):
            self.monitor.limitHit(connection, "send queue exceeded (1024 bytes owed)")
            self.monitor.limitHit(connection, "slow down: your address sends more", perAddress=True)
        lines = [line for line in self.logged if "127.0.0.5" in line]
        self.assertEqual(
            [line.split(": ", 2)[2].split(" (further", 1)[0] for line in lines],
            [
                "send queue exceeded (1024 bytes owed)",
                "slow down: your address sends more",
                "send queue exceeded (1024 bytes owed)",
            ],
        )
        self.assertEqual(len(self.monitor.eventsAfter(0)), 4)

    def test_refusedLogged(self) -> None:
        self.monitor.refused("chat", "127.0.0.6:1", "127.0.0.6", "limit of 2 connections reached")
        (event,) = self.monitor.eventsAfter(0)
        self.assertEqual((event["kind"], event["name"]), ("refused", None))
        self.assertTrue(any("chat: refused 127.0.0.6:1" in line for line in self.logged))

    def test_eventsBounded(self) -> None:
        for n in range(KEEP_EVENTS + 10):
            self.monitor.event("connect", "chat", f"p{n}", "connected")
        events = self.monitor.eventsAfter(0)
        self.assertEqual(len(events), KEEP_EVENTS)
        self.assertEqual(events[-1]["seq"], KEEP_EVENTS + 10)
        self.assertEqual(self.monitor.eventsAfter(KEEP_EVENTS + 5, limit=3)[0]["seq"],
                         KEEP_EVENTS + 8)
