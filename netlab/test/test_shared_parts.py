"""
The shared room's parts that need no Redis: URLs, the outbox, the stream
position.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.chat.shared.address import RedisAddress
from netlab.chat.shared.interfaces import Op
from netlab.chat.shared.outbox import Outbox
from netlab.chat.shared.reader import INTACT, NEW, TRIMMED, StreamPosition
from netlab.chat.shared.streamid import newer, parseInfo


class AddressTests(SynchronousTestCase):
    """
    C{--chat-redis URL}: what is understood, what is refused, what is shown.
    """

    def test_defaults(self) -> None:
        """
        A host alone means Redis's port and database 0.
        """
        address = RedisAddress.parse("redis://localhost")
        self.assertEqual((address.host, address.port, address.db), ("localhost", 6379, 0))
        self.assertEqual(str(address), "redis://localhost:6379/0")

    def test_passwordNeverShown(self) -> None:
        """
        A password (in the URL or as C{?password=}) is kept but never shown.
        """
        for url in ("redis://:s3cret@127.0.0.1:6390/2", "unix:///run/r.sock?password=s3cret"):
            address = RedisAddress.parse(url)
            self.assertEqual(address.password, "s3cret")
            self.assertNotIn("s3cret", str(address))
            self.assertNotIn("s3cret", repr(address))
            self.assertIn("***", str(address))

    def test_userAndPassword(self) -> None:
        """
        C{USER:PASSWORD@} gives both (Redis 6 ACLs).
        """
        address = RedisAddress.parse("rediss://app:pw@redis.example:6380/1?ca=/etc/ca.pem")
        self.assertEqual((address.username, address.password), ("app", "pw"))
        self.assertEqual((address.scheme, address.port, address.db), ("rediss", 6380, 1))
        self.assertEqual(address.ca, "/etc/ca.pem")
        self.assertEqual(str(address), "rediss://app:***@redis.example:6380/1")

    def test_unix(self) -> None:
        """
        C{unix:///PATH?db=N}.
        """
        address = RedisAddress.parse("unix:///run/redis/redis.sock?db=3")
        self.assertEqual((address.path, address.db), ("/run/redis/redis.sock", 3))
        self.assertEqual(str(address), "unix:///run/redis/redis.sock?db=3")

    def test_ipv6(self) -> None:
        """
        An IPv6 address in brackets.
        """
        address = RedisAddress.parse("redis://[::1]:7000/0")
        self.assertEqual((address.host, address.port), ("::1", 7000))
        self.assertEqual(str(address), "redis://[::1]:7000/0")

    def test_refused(self) -> None:
        """
        What is wrong is said, without quoting the URL's password.
        """
        for url, words in [
            ("http://x", "a Redis URL is"),
            ("redis://h:99999", "port"),
            ("redis://h/x", "database"),
            ("redis://h?foo=1", "unknown URL parameter 'foo'"),
            ("redis://:pw@/0", "needs a host"),
            ("unix://", "names the socket"),
            ("redis://h?ca=/x", "rediss"),
        ]:
            with self.assertRaises(ValueError) as caught:
                RedisAddress.parse(url)
            self.assertIn(words, str(caught.exception))
            self.assertNotIn("pw", str(caught.exception))


def line(text: str = "hi", held: bool = True) -> Op:
    return Op({"t": "line", "x": text}, held=held)


class OutboxTests(SynchronousTestCase):
    """
    Ops go out in order, numbered when first sent; sent again first, with
    their numbers, when the link dies before the answer.
    """

    def test_holdBound(self) -> None:
        """
        Held ops past the bound are refused; others always queue.
        """
        outbox = Outbox("d", hold=2)
        self.assertTrue(outbox.add(line()))
        self.assertTrue(outbox.add(line()))
        self.assertFalse(outbox.add(line()))
        self.assertTrue(outbox.add(line(held=False)))
        self.assertEqual(len(outbox), 3)
        list(outbox.toSend())  # sent on a working link: no longer waiting
        self.assertTrue(outbox.add(line()))
        self.assertTrue(outbox.add(line()))
        self.assertFalse(outbox.add(line()))

    def test_holdAfterLinkLost(self) -> None:
        """
        Lines sent but not answered when the link is lost wait again, and
        count.
        """
        outbox = Outbox("d", hold=2)
        outbox.add(line())
        outbox.add(line())
        list(outbox.toSend())
        outbox.answered()
        outbox.linkLost()
        self.assertTrue(outbox.add(line()))
        self.assertFalse(outbox.add(line()))

    def test_numberedWhenSent(self) -> None:
        """
        Numbers follow the order ops are sent, urgent ones included.
        """
        outbox = Outbox("d", hold=10)
        later, urgent = line("later"), line("urgent")
        outbox.add(later)
        outbox.add(urgent, first=True)
        sent = list(outbox.toSend())
        self.assertEqual([op.fields["x"] for op in sent], ["urgent", "later"])
        self.assertEqual([op.fields["n"] for op in sent], ["1", "2"])
        self.assertEqual({op.fields["d"] for op in sent}, {"d"})

    def test_sentAgainFirst(self) -> None:
        """
        After a lost link, what was sent and not answered goes again first,
        in its order, with its numbers; new urgent ops come after it.
        """
        outbox = Outbox("d", hold=10)
        for text in ("a", "b", "c"):
            outbox.add(line(text))
        list(outbox.toSend())
        outbox.answered()  # a
        outbox.linkLost()
        outbox.add(line("claim"), first=True)
        outbox.add(line("d"))
        sent = list(outbox.toSend())
        self.assertEqual(
            [(op.fields["x"], op.fields["n"]) for op in sent],
            [("b", "2"), ("c", "3"), ("claim", "4"), ("d", "5")],
        )

    def test_cancel(self) -> None:
        """
        An op not sent yet can be cancelled (and frees its place); a sent one cannot.
        """
        outbox = Outbox("d", hold=1)
        first = line()
        outbox.add(first)
        self.assertTrue(outbox.cancel(first))
        self.assertFalse(outbox.cancel(first))
        second = line("kept")
        self.assertTrue(outbox.add(second))
        self.assertEqual([op.fields["x"] for op in outbox.toSend()], ["kept"])
        self.assertFalse(outbox.cancel(second))

    def test_unsend(self) -> None:
        """
        An op that could not be sent after all goes first next time.
        """
        outbox = Outbox("d", hold=10)
        outbox.add(line("a"))
        outbox.add(line("b"))
        sending = outbox.toSend()
        op = next(sending)
        outbox.unsend(op)
        self.assertEqual([o.fields["x"] for o in outbox.toSend()], ["a", "b"])


def entry(entryId: str, daemon: str, seq: int | None, text: str = "x") -> list:
    fields = ["t", "line", "d", daemon, "x", text]
    if seq is not None:
        fields += ["n", str(seq)]
    return [entryId, fields]


class StreamPositionTests(SynchronousTestCase):
    """
    Where a daemon is in the stream, and what it has seen.
    """

    def test_ids(self) -> None:
        """
        Stream IDs compare as numbers, not as text.
        """
        self.assertTrue(newer("1700000000000-10", "1700000000000-9"))
        self.assertTrue(newer("10-0", "9-5"))
        self.assertFalse(newer("0-0", "0-0"))

    def test_startAfterNewest(self) -> None:
        """
        The first connection reads on after the newest entry; the entries
        read are the history, oldest first.
        """
        position = StreamPosition()
        history = position.start([entry("3-0", "a", 3, "c"), entry("2-0", "a", 2, "b")])
        self.assertEqual([fields["x"] for fields in history], ["b", "c"])
        self.assertEqual(position.lastId, "3-0")
        self.assertEqual(StreamPosition().start([]), [])

    def test_repeatsSkipped(self) -> None:
        """
        An entry a daemon sent again (same origin and number) is delivered
        once; entries without a number (a lost daemon's leaves) always are.
        """
        position = StreamPosition()
        position.start([])
        first = position.take([entry("1-0", "a", 1), entry("2-0", "a", 2), entry("3-0", "b", 1)])
        again = position.take([entry("4-0", "a", 2), entry("5-0", "a", 3), entry("6-0", "a", None)])
        self.assertEqual(len(first), 3)
        self.assertEqual([fields.get("n") for fields in again], ["3", None])
        self.assertEqual(position.lastId, "6-0")

    def test_redisRestartedEmpty(self) -> None:
        """
        A stream that ends before where we were is a new one: read from its start.
        """
        position = StreamPosition()
        position.start([entry("500-0", "a", 1)])
        self.assertEqual(position.resume({}), NEW)
        self.assertEqual(position.lastId, "0-0")

    def test_trimmed(self) -> None:
        """
        Entries trimmed away after our position were missed.
        """
        position = StreamPosition()
        position.start([entry("500-0", "a", 1)])
        info = {"last-generated-id": "900-0", "max-deleted-entry-id": "600-0"}
        self.assertEqual(position.resume(info), TRIMMED)
        info = {"last-generated-id": "900-0", "max-deleted-entry-id": "400-0"}
        self.assertEqual(position.resume(info), INTACT)
        self.assertEqual(position.lastId, "500-0")

    def test_info(self) -> None:
        """
        XINFO STREAM's flat fields, as text; nested ones left out.
        """
        info = parseInfo(["length", 3, "last-generated-id", "5-1", "first-entry", ["1-0", []]])
        self.assertEqual(info, {"length": "3", "last-generated-id": "5-1"})
