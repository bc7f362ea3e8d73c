"""
Unit tests for the C{netlab} command-line client (L{netlab.client}).

Everything runs over in-memory transports (C{StringTransport}) with a C{task.Clock}; the only real
I/O is a pair of pipes for the StandardIO half-close and L{keepStdinOpen} tests and a
pseudo-terminal for the terminal mode test.
"""

from __future__ import annotations

import io
import os
import termios
from contextlib import redirect_stdout
from functools import partial

from twisted.internet import defer, error, reactor
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IHalfCloseableProtocol,
    IHostnameResolver,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.stdio import StandardIO
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer

import netlab
from netlab.client import cli, connect, keepStdinOpen, version
from netlab.client.connect import LineProtocol, connectLines, makeEndpoint, stripBrackets
from netlab.client.console import ConsoleProtocol, PlainScreen, TerminalScreen
from netlab.client.conversation import (
    CHAT,
    CLOSED_BY_SERVER,
    DOCTOR,
    INTERRUPTED,
    LAB_NOTICE,
    Conversation,
    Outcome,
)
from netlab.client.daytime import (
    UDP_RETRY_INTERVAL,
    DaytimeDatagram,
    fetchTCP,
    printDatagram,
)
from netlab.client.editor import Key, LineEditor
from netlab.client.errors import (
    ClientError,
    ConnectTimeoutError,
    Target,
    TLSError,
    describeFailure,
    tlsReason,
)
from netlab.client.terminal import TerminalState
from netlab.client.text import LineBuffer, displayWidth, printable
from netlab.guard import GuardFactory
from netlab.lab import PIECE_GAP, LabFaults, LabProtocol
from netlab.ports import PORTS
from netlab.test.extras import needsOpenSSL

ERASE = "\r\x1b[J"


class LineBufferTests(SynchronousTestCase):
    """
    L{LineBuffer} splits at C{\\n} and tolerates C{\\r\\n}, whatever the chunking.
    """

    def test_newlineAndCRLF(self):
        """
        Both terminators end a line; the C{\\r} is dropped.
        """
        self.assertEqual(LineBuffer().feed(b"one\r\ntwo\nthree"), [b"one", b"two"])

    def test_splitAcrossChunks(self):
        """
        A line, and even a C{\\r\\n} pair, may arrive in pieces.
        """
        lines = LineBuffer()
        self.assertEqual(lines.feed(b"Wel"), [])
        self.assertEqual(lines.feed(b"come\r"), [])
        self.assertEqual(lines.feed(b"\nnext"), [b"Welcome"])
        self.assertEqual(lines.flush(), [b"next"])

    def test_flushEmpty(self):
        """
        Nothing pending means no last line; a lone C{\\r} left over is not a line either.
        """
        lines = LineBuffer()
        lines.feed(b"a\n")
        self.assertEqual(lines.flush(), [])
        lines.feed(b"\r")
        self.assertEqual(lines.flush(), [])

    def test_emptyLinesKept(self):
        """
        Blank lines from the server are lines too.
        """
        self.assertEqual(LineBuffer().feed(b"\r\n\n"), [b"", b""])

    def test_overlongLine(self):
        """
        A server that never ends its line cannot make the buffer grow without bound.
        """
        lines = LineBuffer(maxLine=4)
        self.assertEqual(lines.feed(b"abcdefghij"), [b"abcd", b"efgh"])
        self.assertEqual(lines.flush(), [b"ij"])


class TextTests(SynchronousTestCase):
    """
    Decoding with replacement and removing terminal control sequences.
    """

    def test_invalidUTF8(self):
        """
        Invalid bytes become U+FFFD instead of an exception.
        """
        self.assertEqual(printable(b"caf\xc3\xa9 \xff\xfe ok"), "caf\u00e9 \ufffd\ufffd ok")

    def test_truncatedSequence(self):
        """
        A multi-byte sequence cut short at the end of a line is replaced too.
        """
        self.assertEqual(printable(b"\xe2\x82"), "\ufffd")

    def test_csiRemoved(self):
        """
        Colour and cursor-movement sequences are removed, the text kept.
        """
        self.assertEqual(printable(b"\x1b[31mred\x1b[0m \x1b[2J\x1b[1;1Hhome"), "red home")

    def test_oscRemoved(self):
        """
        A title-setting OSC string (terminated by BEL or ST) disappears entirely.
        """
        self.assertEqual(printable(b"a\x1b]0;pwned\x07b\x1b]2;x\x1b\\c"), "abc")

    def test_c1AndC0Removed(self):
        """
        C0 controls (but TAB), DEL, and C1 controls including 8-bit CSI are removed.
        """
        self.assertEqual(printable("a\x00b\x07c\x08d\x7fe\x9b31mf\x85g\th".encode()), "abcdefg\th")

    def test_invisibleRemoved(self):
        """
        Bidi controls, zero-width characters and line separators are removed.
        """
        self.assertEqual(printable("a\u202eb\u200bc\u2028d\ufeffe\u2067f".encode()), "abcdef")

    def test_otherEscapes(self):
        """
        Two-character escapes such as ESC c (reset) and charset selection are removed.
        """
        self.assertEqual(printable(b"x\x1bcy\x1b(Bz"), "xyz")

    def test_unterminatedEscapeAtEnd(self):
        """
        An escape sequence cut off at the end of the line does not survive.
        """
        self.assertEqual(printable(b"text\x1b[3"), "text")
        self.assertEqual(printable(b"text\x1b"), "text")

    def test_plainUnicodeKept(self):
        """
        Ordinary non-ASCII text is untouched.
        """
        self.assertEqual(printable("Grüße, 世界 ✓".encode()), "Grüße, 世界 ✓")

    def test_displayWidth(self):
        """
        East Asian wide characters take two columns, combining marks none.
        """
        self.assertEqual(displayWidth("abc"), 3)
        self.assertEqual(displayWidth("世界"), 4)
        self.assertEqual(displayWidth("e\u0301"), 1)


class LineEditorTests(SynchronousTestCase):
    """
    The raw-mode line editor: keys in, events and screen updates out.
    """

    def setUp(self):
        self.columns = 80
        self.editor = LineEditor("> ", lambda: self.columns)
        self.editor.redraw()

    def test_typingEchoes(self):
        """
        Printable characters are inserted and echoed as typed.
        """
        keys, out = self.editor.feed(b"hi")
        self.assertEqual((keys, out, self.editor.buffer), ([], "hi", "hi"))

    def test_enterFinishesLine(self):
        """
        Enter yields the line, keeps it on screen and starts a fresh prompt.
        """
        keys, out = self.editor.feed(b"hello\r")
        self.assertEqual(keys, [Key("line", "hello")])
        self.assertEqual(out, "hello\n> ")
        self.assertEqual(self.editor.buffer, "")

    def test_crlfIsOneEnter(self):
        """
        A pasted CRLF is one line end, not a line plus an empty line (which would mean leave).
        """
        keys, _ = self.editor.feed(b"a\r\nb\n")
        self.assertEqual(keys, [Key("line", "a"), Key("line", "b")])

    def test_emptyLine(self):
        """
        Enter on an empty buffer yields an empty line (the session decides what it means).
        """
        keys, _ = self.editor.feed(b"\n")
        self.assertEqual(keys, [Key("line", "")])

    def test_backspace(self):
        """
        Backspace (DEL or ^H) removes the last character and redraws the input.
        """
        self.editor.feed(b"abc")
        keys, out = self.editor.feed(b"\x7f")
        self.assertEqual((keys, out), ([], ERASE + "> ab"))
        _, out = self.editor.feed(b"\x08\x08\x08")
        self.assertEqual(self.editor.buffer, "")
        self.assertEqual(out, ERASE + "> a" + ERASE + "> ")  # a third backspace changes nothing

    def test_killLineAndWord(self):
        """
        Ctrl-U erases the input, Ctrl-W the last word.
        """
        self.editor.feed(b"one two  ")
        self.editor.feed(b"\x17")
        self.assertEqual(self.editor.buffer, "one ")
        self.editor.feed(b"\x17")
        self.assertEqual(self.editor.buffer, "")
        self.editor.feed(b"again")
        self.editor.feed(b"\x15")
        self.assertEqual(self.editor.buffer, "")

    def test_ctrlD(self):
        """
        Ctrl-D on an empty line is end of input; with text typed it is ignored.
        """
        self.assertEqual(self.editor.feed(b"\x04")[0], [Key("eof")])
        self.editor.feed(b"x")
        self.assertEqual(self.editor.feed(b"\x04"), ([], ""))

    def test_ctrlC(self):
        """
        Ctrl-C is an interrupt event, typed text or not.
        """
        self.editor.feed(b"half")
        self.assertEqual(self.editor.feed(b"\x03")[0], [Key("interrupt")])

    def test_escapeSequencesSwallowed(self):
        """
        Arrow keys and Alt-combinations are not inserted as garbage, even split across reads.
        """
        self.editor.feed(b"a\x1b[A\x1bOBb\x1b")
        self.editor.feed(b"[1;5")
        self.editor.feed(b"Cc\x1bxd")
        self.assertEqual(self.editor.buffer, "abcd")

    def test_utf8InputSplit(self):
        """
        A multi-byte character typed across two reads is inserted once, whole.
        """
        self.editor.feed("ü".encode()[:1])
        _, out = self.editor.feed("ü".encode()[1:])
        self.assertEqual((self.editor.buffer, out), ("ü", "ü"))

    def test_controlCharactersIgnored(self):
        """
        Other control characters are not inserted; TAB becomes a space.
        """
        self.editor.feed(b"a\x01\x02\tb")
        self.assertEqual(self.editor.buffer, "a b")

    def test_ctrlLRedraws(self):
        """
        Ctrl-L redraws prompt and input.
        """
        self.editor.feed(b"abc")
        self.assertEqual(self.editor.feed(b"\x0c"), ([], ERASE + "> abc"))

    def test_showRedrawsAroundServerLine(self):
        """
        A server line is printed on the prompt's row and the prompt with the input follows it.
        """
        self.editor.feed(b"half-typed")
        self.assertEqual(self.editor.show("<bob> hi"), ERASE + "<bob> hi\n> half-typed")
        self.assertEqual(self.editor.buffer, "half-typed")

    def test_wrappedInputErasedWhole(self):
        """
        When prompt and input wrap onto more rows, the redraw first moves up to the first.
        """
        self.columns = 10
        self.editor.feed(b"x" * 18)  # 20 columns: exactly two full rows, the cursor still on row 2
        self.assertEqual(self.editor.rowsAboveCursor(), 1)
        self.assertEqual(self.editor.show("s"), "\r\x1b[1A\x1b[J" + "s\n> " + "x" * 18)
        self.editor.feed(b"x")
        self.assertEqual(self.editor.rowsAboveCursor(), 2)

    def test_wideCharactersCountDouble(self):
        """
        Wide characters count two columns when working out the wrapped rows.
        """
        self.columns = 6
        self.editor.feed("世界".encode())  # "> " + 4 columns = 6: one row
        self.assertEqual(self.editor.rowsAboveCursor(), 0)
        self.editor.feed(b"x")
        self.assertEqual(self.editor.rowsAboveCursor(), 1)

    def test_beforeAndAfterPrompt(self):
        """
        Before the prompt is first drawn and after it is hidden, lines print plainly.
        """
        editor = LineEditor("> ")
        self.assertEqual(editor.show("early"), "early\n")
        editor.redraw()
        editor.feed(b"abc")
        self.assertEqual(editor.hide(), ERASE)
        self.assertEqual(editor.hide(), "")
        self.assertEqual(editor.show("late"), "late\n")


class FakeSink:
    """
    Records what a L{LineProtocol} reports.
    """

    def __init__(self):
        self.lines: list[str] = []
        self.closed: list[Failure] = []
        self.events: list[str] = []

    def serverActivity(self):
        self.events.append("activity")

    def serverLine(self, text):
        self.lines.append(text)
        self.events.append("line")

    def serverClosed(self, reason):
        self.closed.append(reason)


class LineProtocolTests(SynchronousTestCase):
    """
    The network side over a C{StringTransport}.
    """

    def setUp(self):
        self.sink = FakeSink()
        self.protocol = LineProtocol(self.sink)
        self.transport = StringTransport()

    def test_readyOnConnect(self):
        """
        A plain connection is ready at once.
        """
        self.protocol.makeConnection(self.transport)
        self.assertIs(self.successResultOf(self.protocol.ready), self.protocol)

    def test_linesDecodedAndSanitized(self):
        """
        Lines reach the sink decoded, sanitized, without terminators.
        """
        self.protocol.makeConnection(self.transport)
        self.protocol.dataReceived(b"Welcome to my chat room!\r\n<eve> \x1b]0;x\x07hi \xff\n")
        self.assertEqual(self.sink.lines, ["Welcome to my chat room!", "<eve> hi \ufffd"])

    def test_activityBeforeLines(self):
        """
        Every arrival of bytes is reported, also a piece that ends no line, before the lines it
        finished.
        """
        self.protocol.makeConnection(self.transport)
        self.protocol.dataReceived(b"Hello")
        self.protocol.dataReceived(b". I am")
        self.protocol.dataReceived(b" the doctor.\nHow")
        self.assertEqual(self.sink.events, ["activity", "activity", "activity", "line"])
        self.assertEqual(self.sink.lines, ["Hello. I am the doctor."])

    def test_unterminatedLastLine(self):
        """
        A last line without a terminator is delivered when the connection ends.
        """
        self.protocol.makeConnection(self.transport)
        self.protocol.dataReceived(b"Have a nice day!")
        self.protocol.connectionLost(Failure(error.ConnectionDone()))
        self.assertEqual(self.sink.lines, ["Have a nice day!"])
        self.assertEqual(len(self.sink.closed), 1)

    def test_sendLine(self):
        """
        User text goes out UTF-8 encoded with C{\\n}.
        """
        self.protocol.makeConnection(self.transport)
        self.protocol.sendLine("I feel süß")
        self.assertEqual(self.transport.value(), "I feel süß\n".encode())

    def test_closeAndAbort(self):
        """
        C{close} flushes then closes; C{abort} drops at once.
        """
        self.protocol.makeConnection(self.transport)
        self.protocol.close()
        self.assertTrue(self.transport.disconnecting)
        self.assertFalse(self.transport.disconnected)
        self.protocol.abort()
        self.assertTrue(self.transport.disconnected)

    def tlsConnection(self):
        """
        Make the protocol believe its transport is TLS.
        """
        self.patch(connect, "isTLS", lambda transport: True)
        self.protocol.makeConnection(self.transport)

    def test_tlsWaitsForHandshake(self):
        """
        Over TLS the connection is ready only once the handshake completed.
        """
        self.tlsConnection()
        self.assertNoResult(self.protocol.ready)
        self.protocol.handshakeCompleted()
        self.successResultOf(self.protocol.ready)
        self.protocol.handshakeCompleted()  # a renegotiation is harmless

    def test_tlsHandshakeFailure(self):
        """
        A connection lost during the handshake fails C{ready} with a TLS failure.
        """
        self.tlsConnection()
        self.protocol.connectionLost(Failure(error.ConnectionDone()))
        failure = self.failureResultOf(self.protocol.ready, TLSError)
        self.assertIn("handshake", str(failure.value))
        self.assertEqual(self.sink.closed, [])

    @needsOpenSSL
    def test_tlsErrorAfterHandshake(self):
        """
        An OpenSSL error that ends an established TLS connection is reported as TLS failure.
        """
        from OpenSSL import SSL

        self.tlsConnection()
        self.protocol.handshakeCompleted()
        self.protocol.connectionLost(Failure(SSL.Error([("SSL routines", "", "bad record mac")])))
        self.assertTrue(self.sink.closed[0].check(TLSError))
        self.assertEqual(str(self.sink.closed[0].value), "bad record mac")

    def test_cancelReadyAborts(self):
        """
        Cancelling the wait (the timeout) aborts the half-made connection, silently.
        """
        self.tlsConnection()
        self.protocol.ready.cancel()
        self.failureResultOf(self.protocol.ready, defer.CancelledError)
        self.assertTrue(self.transport.disconnected)
        self.protocol.connectionLost(Failure(error.ConnectionLost()))
        self.assertEqual(self.sink.closed, [])


@implementer(IStreamClientEndpoint)
class FakeEndpoint:
    """
    An endpoint whose connections go to C{StringTransport}s, or hang if C{hang} is set.
    """

    def __init__(self, hang=False):
        self.hang = hang
        self.transport = StringTransport()
        self.protocol = None
        self.cancelled = False

    def connect(self, factory):
        if self.hang:
            return defer.Deferred(lambda d: setattr(self, "cancelled", True))
        self.protocol = factory.buildProtocol(None)
        self.protocol.makeConnection(self.transport)
        return defer.succeed(self.protocol)


class ConnectLinesTests(SynchronousTestCase):
    """
    L{connectLines}: connecting with our own timeout.
    """

    def test_connects(self):
        """
        The result is the ready protocol.
        """
        protocol = LineProtocol(FakeSink())
        d = connectLines(FakeEndpoint(), protocol, Clock(), 10)
        self.assertIs(self.successResultOf(d), protocol)

    def test_timeout(self):
        """
        A connection attempt that hangs is cancelled after the timeout: L{ConnectTimeoutError}.
        """
        clock, endpoint = Clock(), FakeEndpoint(hang=True)
        d = connectLines(endpoint, LineProtocol(FakeSink()), clock, 3)
        clock.advance(2.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        self.assertEqual(str(self.failureResultOf(d, ConnectTimeoutError).value), "connecting to")
        self.assertTrue(endpoint.cancelled)


@implementer(IHostnameResolver)
class RecordingResolver:
    """
    Resolves every name to one address and remembers the names asked for.
    """

    def __init__(self, address):
        self.address = address
        self.names = []

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None,
                        transportSemantics="TCP"):
        self.names.append(hostName)
        receiver.resolutionBegan(None)
        receiver.addressResolved(self.address(portNumber))
        receiver.resolutionComplete()


class EndpointTests(SynchronousTestCase):
    """
    L{makeEndpoint}: HOST/PORT or an endpoint string, checked by connecting a memory reactor.
    """

    def connectWith(self, host, port, connectString=None, address=None):
        reactor = MemoryReactorClock()
        resolver = RecordingResolver(address or (lambda p: IPv4Address("TCP", "127.0.0.1", p)))
        reactor.installNameResolver(resolver)
        endpoint, target = makeEndpoint(reactor, host, port, connectString, 7)
        endpoint.connect(LineProtocolFactory())
        return reactor, resolver, target

    def test_hostAndPort(self):
        """
        A host name is resolved through the reactor and connected to on the given port.
        """
        reactor, resolver, target = self.connectWith("localhost", 21568)
        self.assertEqual(resolver.names, ["localhost"])
        host, port, _, timeout, _ = reactor.tcpClients[0]
        self.assertEqual((host, port, timeout), ("127.0.0.1", 21568, 7))
        self.assertEqual(str(target), "localhost port 21568")
        self.assertEqual(target.host, "localhost")

    def test_ipv6Literal(self):
        """
        An IPv6 literal, bare or bracketed, connects over IPv6.
        """
        for given in ("::1", "[::1]"):
            reactor, resolver, target = self.connectWith(
                given, 21567, address=lambda p: IPv6Address("TCP", "::1", p)
            )
            self.assertEqual(resolver.names, ["::1"])
            self.assertEqual(reactor.tcpClients[0][:2], ("::1", 21567))
            self.assertEqual(str(target), "[::1] port 21567")

    def test_connectTCP(self):
        """
        C{--connect tcp:...} uses exactly that endpoint; HOST/PORT are ignored.
        """
        reactor, resolver, target = self.connectWith(
            "ignored", 1, "tcp:host=127.0.0.2:port=4000"
        )
        self.assertEqual(reactor.tcpClients[0][:2], ("127.0.0.2", 4000))
        self.assertEqual(resolver.names, [])
        self.assertEqual(str(target), "tcp:host=127.0.0.2:port=4000")
        self.assertIsNone(target.host)

    def test_connectUNIX(self):
        """
        C{--connect unix:path=...} connects to a UNIX socket.
        """
        reactor, _, _ = self.connectWith("localhost", 1, "unix:path=/tmp/chat.sock")
        self.assertEqual(reactor.unixClients[0][0], "/tmp/chat.sock")

    @needsOpenSSL
    def test_connectTLS(self):
        """
        C{--connect tls:HOST:PORT} resolves HOST and connects (TLS wraps the protocol).
        """
        reactor, resolver, _ = self.connectWith("localhost", 1, "tls:localhost:21568")
        self.assertEqual(resolver.names, ["localhost"])
        self.assertEqual(reactor.tcpClients[0][:2], ("127.0.0.1", 21568))

    def test_badEndpointString(self):
        """
        A malformed endpoint string is a usage error (status 2) with one clear message.
        """
        for bad in ("foo:bar", "tcp:host=x", "tcp:x:notaport"):
            exc = self.assertRaises(
                ClientError, makeEndpoint, MemoryReactorClock(), "h", 1, bad, 1
            )
            self.assertEqual(exc.status, 2)
            self.assertIn(repr(bad), exc.message)

    def test_stripBrackets(self):
        """
        Only a fully bracketed host loses its brackets.
        """
        self.assertEqual(stripBrackets("[fe80::1]"), "fe80::1")
        self.assertEqual(stripBrackets("example.org"), "example.org")


class LineProtocolFactory:
    """
    A minimal factory for endpoint tests.
    """

    def buildProtocol(self, addr):
        return LineProtocol(FakeSink())

    def doStart(self):
        pass

    def doStop(self):
        pass


class DescribeFailureTests(SynchronousTestCase):
    """
    Every expected failure becomes one line naming the target.
    """

    target = Target("example.org port 21568", "example.org")

    def describe(self, exc, target=None):
        return describeFailure(Failure(exc), target or self.target, 10)

    def test_refused(self):
        self.assertEqual(
            self.describe(error.ConnectionRefusedError()),
            "netlab: connection refused by example.org port 21568",
        )

    def test_unknownHost(self):
        self.assertEqual(
            self.describe(error.DNSLookupError("x")), "netlab: unknown host example.org"
        )
        self.assertEqual(
            self.describe(error.DNSLookupError("x"), Target("tcp:host=nope:port=1")),
            "netlab: unknown host tcp:host=nope:port=1",
        )

    def test_timeout(self):
        self.assertEqual(
            self.describe(ConnectTimeoutError("connecting to")),
            "netlab: timed out after 10 s connecting to example.org port 21568",
        )

    @needsOpenSSL
    def test_tls(self):
        from OpenSSL import SSL

        exc = SSL.Error([("SSL routines", "", "wrong version number")])
        self.assertEqual(
            self.describe(exc),
            "netlab: TLS failure with example.org port 21568: wrong version number",
        )
        self.assertEqual(tlsReason(SSL.Error([])), "handshake failed")
        self.assertIsNone(tlsReason(ValueError()))

    def test_otherConnectError(self):
        message = self.describe(error.NoRouteError(string="no route"))
        self.assertTrue(message.startswith("netlab: cannot connect to example.org port 21568: "))
        self.assertEqual(message.count("\n"), 0)

    def test_unexpected(self):
        self.assertEqual(
            self.describe(ZeroDivisionError("boom")),
            "netlab: error talking to example.org port 21568: ZeroDivisionError: boom",
        )


class SegmentTransport(StringTransport):
    """
    A C{StringTransport} that keeps each write apart, as the segments of a C{TCP_NODELAY} socket.
    """

    def __init__(self):
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data):
        self.writes.append(data)
        super().write(data)


def labPieces(writes, split=5):
    """
    What a netlab service run with C{--lab split=SPLIT} sends for C{writes}: the lab's notice
    first, then everything, cut by the real L{LabProtocol} into the pieces a client receives.

    @param writes: the service's writes, in order.
    @param split: the most bytes per piece.
    @return: the pieces, in order.
    """
    clock = Clock()
    faults = LabFaults(split=split)
    guard = GuardFactory(
        Factory.forProtocol(Protocol), "doctor", clock,
        protocol=partial(LabProtocol, faults=faults, announce=True),
    )
    wrapper = guard.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = SegmentTransport()
    wrapper.makeConnection(transport)
    for data in writes:
        wrapper.wrappedProtocol.transport.write(data)
    while wrapper.held:
        clock.advance(PIECE_GAP)
    return transport.writes


class Harness:
    """
    A L{Conversation} wired to a C{StringTransport}, a C{Clock} and a recorded screen.
    """

    def __init__(self, testcase, service=DOCTOR, interactive=False, opening=(), grace=0.5,
                 timeout=10, columns=80):
        self.clock = Clock()
        self.screenText = []
        self.rawModeEntered = []
        if interactive:
            editor = LineEditor("> ", lambda: columns)
            screen = TerminalScreen(
                self.screenText.append, editor, lambda: self.rawModeEntered.append(True)
            )
        else:
            screen = PlainScreen(self.screenText.append)
        self.conversation = Conversation(
            service, screen, self.clock, Target("localhost port 1", "localhost"),
            timeout=timeout, grace=grace, opening=opening,
        )
        self.network = LineProtocol(self.conversation)
        self.transport = StringTransport()
        self.connecting = defer.Deferred()
        self.conversation.start(self.connecting)
        self.outcomes = []
        self.conversation.done.addCallback(self.outcomes.append)

    def connect(self):
        self.network.makeConnection(self.transport)
        self.connecting.callback(self.network)

    def server(self, data):
        self.network.dataReceived(data)

    def sent(self):
        """
        What the client sent after the empty line it opens every conversation with.
        """
        data = self.transport.value()
        assert data.startswith(b"\n") or not data, data
        return data[1:]

    def lost(self, exc=None):
        self.network.connectionLost(Failure(exc or error.ConnectionDone()))

    def screen(self):
        return "".join(self.screenText)

    def typed(self, data):
        self.conversation.userInput(data)


class DoctorPipeTests(SynchronousTestCase):
    """
    Piped input to the doctor: send every line, count one reply per line, then exit.
    """

    def setUp(self):
        self.h = Harness(self, DOCTOR)
        self.h.connect()

    def test_countsReplies(self):
        """
        After end of input the client waits for every owed reply, then closes and succeeds.
        """
        self.h.typed(b"I feel sad\n\nMy mother\n")  # the blank line is skipped
        self.h.conversation.userEof()
        self.assertEqual(self.h.sent(), b"I feel sad\nMy mother\n")
        self.h.server(b"Hello. I am the doctor.\r\nI am sorry")
        self.assertFalse(self.h.transport.disconnecting)
        self.h.server(b" to hear that.\r\n")
        self.assertFalse(self.h.transport.disconnecting)  # the greeting did not count as a reply
        self.h.server(b"Tell me more about your family.\r\n")
        self.assertTrue(self.h.transport.disconnecting)
        self.assertEqual(self.h.outcomes, [])  # done only once the connection has really closed
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(0)])
        self.assertEqual(
            self.h.screen(),
            "Hello. I am the doctor.\nI am sorry to hear that.\nTell me more about your family.\n",
        )

    def test_labNoticeInPieces(self):
        """
        C{--lab split=5}: the notice the lab puts before the greeting is shown but is no reply,
        and lines count whole however the bytes are cut, so the client waits for every answer.
        """
        self.h.typed(b"I feel sad\nI am tired\n")
        self.h.conversation.userEof()
        greeting = "Hello. I am the doctor. What would you like to talk about?"
        answers = ["I am sorry that you feel sad.", "How have you been sleeping?"]
        # The greeting's line end comes once the client's empty line has arrived.
        writes = [greeting.encode(), b"\n"] + [f"{answer}\n".encode() for answer in answers]
        pieces = labPieces(writes)
        self.assertEqual(max(len(piece) for piece in pieces), 5)
        for piece in pieces[:-1]:
            self.h.server(piece)
            self.assertFalse(self.h.transport.disconnecting, self.h.screen())
        self.h.server(pieces[-1])
        self.assertTrue(self.h.transport.disconnecting)
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(0)])
        notice, *lines = self.h.screen().split("\n")
        self.assertEqual(notice, LAB_NOTICE + LabFaults(split=5).describe())
        self.assertEqual(lines, [greeting, *answers, ""])

    def test_labNoticeOnlyFirst(self):
        """
        Only the first line can be the lab's notice: a later line that looks like one is a reply.
        """
        self.h.typed(b"hi\n")
        self.h.conversation.userEof()
        self.h.server(b"greeting\n")
        self.assertFalse(self.h.transport.disconnecting)
        self.h.server(LAB_NOTICE.encode() + b"a reply after all\n")
        self.assertTrue(self.h.transport.disconnecting)

    def test_replyInPiecesNotTimedOut(self):
        """
        A reply still arriving, piece by piece, is not silence: the wait starts over with each.
        """
        self.h.typed(b"hello\n")
        self.h.conversation.userEof()
        self.h.server(b"greeting\n")
        for piece in (b"Please", b" tell", b" me more."):
            self.h.clock.advance(9)
            self.h.server(piece)
        self.h.clock.advance(9)
        self.assertFalse(self.h.transport.disconnecting)
        self.h.server(b"\n")
        self.assertTrue(self.h.transport.disconnecting)
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(0)])
        self.assertEqual(self.h.screen(), "greeting\nPlease tell me more.\n")

    def test_repliesBeforeEndOfInput(self):
        """
        Replies that all arrived before the input ended: closing happens at end of input.
        """
        self.h.typed(b"hi\n")
        self.h.server(b"greeting\nreply\n")
        self.assertFalse(self.h.transport.disconnecting)
        self.h.conversation.userEof()
        self.assertTrue(self.h.transport.disconnecting)

    def test_opensWithEmptyLine(self):
        """
        The first thing sent is an empty line: netlab's servers then know this is a line
        client (end the greeting's line, send room lines as they come) and ignore it.
        """
        self.assertEqual(self.h.transport.value(), b"\n")

    def test_unterminatedLastLineSent(self):
        """
        C{printf 'I feel sad' | netlab doctor}: the last line needs no newline.
        """
        self.h.typed(b"I feel sad")
        self.h.conversation.userEof()
        self.assertEqual(self.h.sent(), b"I feel sad\n")

    def test_noFarewellAtEndOfInput(self):
        """
        Piped input ending sends no C{bye}: the output is the greeting and the replies only.
        """
        self.h.conversation.userEof()
        self.h.server(b"greeting\n")
        self.assertEqual(self.h.sent(), b"")
        self.assertTrue(self.h.transport.disconnecting)

    def test_replyTimeout(self):
        """
        A reply that never comes ends the client with an error after C{timeout} of silence.
        """
        self.h.typed(b"hello\n")
        self.h.conversation.userEof()
        self.h.clock.advance(9)
        self.h.server(b"greeting\n")  # activity restarts the wait
        self.h.clock.advance(9.9)
        self.assertFalse(self.h.transport.disconnecting)
        self.h.clock.advance(0.1)
        self.assertTrue(self.h.transport.disconnecting)
        self.h.lost()
        self.assertEqual(
            self.h.outcomes, [Outcome(1, "netlab: no reply from localhost port 1 within 10 s")]
        )

    def test_serverClosesEarly(self):
        """
        The server closing first (say, after a piped C{bye}) ends with status 0 and a notice.
        """
        self.h.typed(b"bye\n")
        self.h.server(b"greeting\nHave a nice day!\n")
        self.h.lost()
        self.assertEqual(self.h.outcomes, [CLOSED_BY_SERVER])
        self.assertEqual(CLOSED_BY_SERVER, Outcome(0, "Connection closed by server."))

    def test_serverClosesBeforeAllReplies(self):
        """
        Input ended but the server closed before answering all of it: that is worth a notice.
        """
        self.h.typed(b"one\ntwo\n")
        self.h.conversation.userEof()
        self.h.server(b"greeting\nreply one\n")
        self.h.lost()
        self.assertEqual(self.h.outcomes, [CLOSED_BY_SERVER])

    def test_connectionReset(self):
        """
        A connection lost uncleanly is an error naming the reason.
        """
        self.h.lost(error.ConnectionLost("reset"))
        self.assertEqual(self.h.outcomes[0].status, 1)
        self.assertIn("lost", self.h.outcomes[0].message)

    def test_stuckCloseAborted(self):
        """
        If the polite close cannot complete (peer not reading), the connection is dropped.
        """
        self.h.conversation.userEof()
        self.h.server(b"greeting\n")
        self.assertTrue(self.h.transport.disconnecting)
        self.h.clock.advance(10)
        self.assertTrue(self.h.transport.disconnected)

    def test_outputLost(self):
        """
        Nobody reading our output any more: leave politely.
        """
        self.h.conversation.outputLost()
        self.assertEqual(self.h.sent(), b"bye\n")


class ChatPipeTests(SynchronousTestCase):
    """
    Piped input to the chat: no replies to count, so C{/quit} and a grace period.
    """

    def setUp(self):
        self.h = Harness(self, CHAT, opening=("/nick bob",), grace=0.5)
        self.h.connect()

    def test_nickSentFirst(self):
        """
        C{--nick} becomes C{/nick NAME} right after connecting.
        """
        self.h.typed(b"hello\n")
        self.assertEqual(self.h.sent(), b"/nick bob\nhello\n")

    def test_quitAtEndOfInput(self):
        """
        End of input sends C{/quit}; the server closing then ends the client quietly.
        """
        self.h.typed(b"hello\n")
        self.h.conversation.userEof()
        self.assertTrue(self.h.sent().endswith(b"hello\n/quit\n"))
        self.h.server(b"* Bye!\r\n")
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(0)])
        self.assertIn("* Bye!\n", self.h.screen())

    def test_graceExpires(self):
        """
        A server that ignores C{/quit} is closed by the client after the grace period.
        """
        self.h.conversation.userEof()
        self.h.clock.advance(0.4)
        self.assertFalse(self.h.transport.disconnecting)
        self.h.clock.advance(0.1)
        self.assertTrue(self.h.transport.disconnecting)
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(0)])

    def test_graceRestartsWithPieces(self):
        """
        A long line arriving in pieces (C{--lab split=5}) takes longer than the grace period; each
        piece starts the wait over, so nothing the server sends before closing is lost.
        """
        self.h.conversation.userEof()
        for piece in (b"<alice> a long", b" line, still", b" on its way"):
            self.h.clock.advance(0.4)
            self.h.server(piece)
        self.h.clock.advance(0.4)
        self.assertFalse(self.h.transport.disconnecting)
        self.h.server(b"\r\n* Bye!\r\n")
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(0)])
        self.assertEqual(self.h.screen(), "<alice> a long line, still on its way\n* Bye!\n")

    def test_labNoticeInPieces(self):
        """
        C{--lab split=5} in a pipe: the notice, the welcome and the answers all arrive whole.
        """
        self.h.typed(b"/who\n")
        self.h.conversation.userEof()
        writes = [b"Welcome to my chat room!", b"\n* 1 in the room: bob\n", b"* Bye!\n"]
        for piece in labPieces(writes):
            self.h.clock.advance(PIECE_GAP)
            self.h.server(piece)
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(0)])
        self.assertEqual(
            self.h.screen().split("\n")[1:],
            ["Welcome to my chat room!", "* 1 in the room: bob", "* Bye!", ""],
        )

    def test_inputIgnoredWhileLeaving(self):
        """
        Nothing more is sent once leaving has begun.
        """
        self.h.conversation.userEof()
        self.h.typed(b"late\n")
        self.assertNotIn(b"late", self.h.sent())

    def test_serverLinesShownWithNewlines(self):
        """
        Without a terminal each server line is printed plainly.
        """
        self.h.server(b"Welcome to my chat room!\r\n<alice> hi\r\n")
        self.assertEqual(self.h.screen(), "Welcome to my chat room!\n<alice> hi\n")


class InteractiveTests(SynchronousTestCase):
    """
    A person at a terminal: prompt redraw, empty line / Ctrl-D / Ctrl-C, server closing.
    """

    def setUp(self):
        self.h = Harness(self, CHAT, interactive=True)

    def test_rawModeAndPromptOnConnect(self):
        """
        The terminal enters raw mode and the prompt appears once connected, not before.
        """
        self.assertEqual(self.h.rawModeEntered, [])
        self.h.connect()
        self.assertEqual(self.h.rawModeEntered, [True])
        self.assertEqual(self.h.screen(), ERASE + "> ")

    def test_serverLineWhileTyping(self):
        """
        A line arriving mid-typing is printed above, and the prompt and input are redrawn.
        """
        self.h.connect()
        self.h.typed(b"hel")
        self.h.server(b"<alice> hi\r\n")
        self.h.typed(b"lo\r")
        self.assertEqual(self.h.screen(), ERASE + "> hel" + ERASE + "<alice> hi\n> hello\n> ")
        self.assertEqual(self.h.sent(), b"hello\n")

    def test_emptyLineLeaves(self):
        """
        An empty line sends C{/quit}, removes the prompt and ends when the server closes.
        """
        self.h.connect()
        self.h.typed(b"\r")
        self.assertEqual(self.h.sent(), b"/quit\n")
        self.assertTrue(self.h.screen().endswith(ERASE))
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(0)])

    def test_ctrlDLeaves(self):
        """
        Ctrl-D on an empty line leaves politely too.
        """
        self.h.connect()
        self.h.typed(b"\x04")
        self.assertEqual(self.h.sent(), b"/quit\n")

    def test_ctrlCLeavesAtOnce(self):
        """
        Ctrl-C drops the connection without a farewell; status 130.
        """
        self.h.connect()
        self.h.typed(b"some\x03")
        self.assertEqual(self.h.sent(), b"")
        self.assertTrue(self.h.transport.disconnected)
        self.h.lost()
        self.assertEqual(self.h.outcomes, [Outcome(INTERRUPTED)])

    def test_ctrlCWhileLeaving(self):
        """
        Ctrl-C still works while waiting for the server after the farewell.
        """
        self.h.connect()
        self.h.typed(b"\r")
        self.h.typed(b"\x03")
        self.assertTrue(self.h.transport.disconnected)

    def test_serverClosesConnection(self):
        """
        The server closing unasked: the prompt goes, then status 0 and the notice.
        """
        self.h.connect()
        self.h.typed(b"unsent")
        self.h.server(b"* server shutting down\r\n")
        self.h.lost()
        self.assertEqual(self.h.outcomes, [CLOSED_BY_SERVER])
        self.assertTrue(self.h.screen().endswith("* server shutting down\n> unsent" + ERASE))

    def test_terminalHangupLeaves(self):
        """
        Input ending on a terminal (hang-up) is handled like Ctrl-D.
        """
        self.h.connect()
        self.h.conversation.userEof()
        self.assertEqual(self.h.sent(), b"/quit\n")

    def test_doctorFarewell(self):
        """
        The doctor: an empty line says C{bye}, shows the farewell, waits for the close.
        """
        h = Harness(self, DOCTOR, interactive=True, grace=0.5)
        h.connect()
        h.server(b"Hello.\r\n")
        h.typed(b"\r")
        self.assertEqual(h.sent(), b"bye\n")
        h.clock.advance(5)  # waiting for the owed reply: no grace timer yet
        self.assertFalse(h.transport.disconnecting)
        h.server(b"Have a nice day!\r\n")
        self.assertTrue(h.screen().endswith(ERASE + "Have a nice day!\n"))
        h.clock.advance(0.5)  # the server did not close within the grace period: we do
        self.assertTrue(h.transport.disconnecting)
        h.lost()
        self.assertEqual(h.outcomes, [Outcome(0)])


class ConnectFailureTests(SynchronousTestCase):
    """
    Failures before the conversation starts.
    """

    def test_connectFailure(self):
        """
        A failed connection attempt ends with its one-line description.
        """
        h = Harness(self, CHAT)
        h.connecting.errback(Failure(error.ConnectionRefusedError()))
        self.assertEqual(
            h.outcomes, [Outcome(1, "netlab: connection refused by localhost port 1")]
        )

    def test_interruptWhileConnecting(self):
        """
        Ctrl-C (SIGINT) while connecting cancels the attempt: status 130, no message.
        """
        h = Harness(self, CHAT)
        h.conversation.interrupt()
        self.assertEqual(h.outcomes, [Outcome(INTERRUPTED)])

    def test_tlsFailureWhenClosed(self):
        """
        A TLS failure ending the conversation is an error, not 'closed by server'.
        """
        h = Harness(self, CHAT)
        h.connect()
        h.lost(TLSError("bad record mac"))
        self.assertEqual(
            h.outcomes, [Outcome(1, "netlab: TLS failure with localhost port 1: bad record mac")]
        )

    def test_endOfInputBeforeConnected(self):
        """
        Input that ends before the connection is ready still leaves once it is.
        """
        h = Harness(self, CHAT)
        h.conversation.userEof()
        h.connect()
        self.assertEqual(h.sent(), b"/quit\n")


class RecordingConsoleSink:
    """
    Records what a L{ConsoleProtocol} reports; C{eof} fires at end of input.
    """

    def __init__(self):
        self.data = b""
        self.eof = defer.Deferred()
        self.outputGone = False

    def userInput(self, data):
        self.data += data

    def userEof(self):
        self.eof.callback(self.data)

    def outputLost(self):
        self.outputGone = True


class ConsoleProtocolTests(TestCase):
    """
    L{ConsoleProtocol} over a real C{StandardIO} on pipes: half-close must keep stdout open.
    """

    timeout = 10  # a guard against a hang, never reached when the test passes

    def test_providesHalfClose(self):
        self.assertTrue(IHalfCloseableProtocol.providedBy(ConsoleProtocol()))

    def setUp(self):
        self.openFDs = set()
        self.addCleanup(lambda: [self.close(fd) for fd in list(self.openFDs)])

    def close(self, fd):
        """
        Close C{fd} once: a second close could hit a descriptor reused by the reactor.
        """
        if fd in self.openFDs:
            self.openFDs.discard(fd)
            os.close(fd)

    def pipes(self):
        stdinRead, stdinWrite = os.pipe()
        stdoutRead, stdoutWrite = os.pipe()
        self.openFDs.update((stdinRead, stdinWrite, stdoutRead, stdoutWrite))
        return stdinRead, stdinWrite, stdoutRead, stdoutWrite

    @defer.inlineCallbacks
    def test_replyAfterEndOfInput(self):
        """
        After stdin ends (C{echo hi | netlab ...}) a reply can still be written to stdout.
        """
        stdinRead, stdinWrite, stdoutRead, stdoutWrite = self.pipes()
        console = ConsoleProtocol()
        console.sink = sink = RecordingConsoleSink()
        StandardIO(console, stdin=stdinRead, stdout=stdoutWrite, reactor=reactor)
        os.write(stdinWrite, b"hi\n")
        self.close(stdinWrite)
        data = yield sink.eof
        self.assertEqual(data, b"hi\n")
        console.writeText("the reply\n")
        yield console.close()
        os.set_blocking(stdoutRead, True)
        self.assertEqual(os.read(stdoutRead, 100), b"the reply\n")

    @defer.inlineCallbacks
    def test_outputClosedByReader(self):
        """
        The reader of stdout going away is reported, and closing then still completes.
        """
        stdinRead, stdinWrite, stdoutRead, stdoutWrite = self.pipes()
        console = ConsoleProtocol()
        console.sink = sink = RecordingConsoleSink()
        gone = defer.Deferred()
        sink.outputLost = lambda: gone.callback(None)
        StandardIO(console, stdin=stdinRead, stdout=stdoutWrite, reactor=reactor)
        self.close(stdoutRead)
        console.writeText("x" * 100)  # the write fails with EPIPE
        yield gone
        console.writeText("ignored now")
        yield console.close()


class DaytimeTests(SynchronousTestCase):
    """
    The Day/Time client over fake transports.
    """

    def test_printsLinesUntilClose(self):
        """
        Every line is printed as it comes; the server closing completes the exchange.
        """
        endpoint, out = FakeEndpoint(), []
        d = fetchTCP(endpoint, Clock(), 10, out.append)
        endpoint.protocol.dataReceived(b"Wed Nov 25 03:48:40 2026\nHave a nice")
        self.assertEqual(out, ["Wed Nov 25 03:48:40 2026\n"])
        endpoint.protocol.dataReceived(b" day!\n")
        self.assertNoResult(d)
        endpoint.protocol.connectionLost(Failure(error.ConnectionDone()))
        self.successResultOf(d)
        self.assertEqual(out, ["Wed Nov 25 03:48:40 2026\n", "Have a nice day!\n"])

    def test_invalidUTF8Shown(self):
        """
        Bad bytes are printed as replacement characters, not an error.
        """
        endpoint, out = FakeEndpoint(), []
        d = fetchTCP(endpoint, Clock(), 10, out.append)
        endpoint.protocol.dataReceived(b"caf\xe9\x1b[2J\n")
        endpoint.protocol.connectionLost(Failure(error.ConnectionDone()))
        self.successResultOf(d)
        self.assertEqual(out, ["caf\ufffd\n"])

    def test_wholeExchangeTimeout(self):
        """
        A server that accepts and never answers times out; the connection is dropped.
        """
        endpoint, clock = FakeEndpoint(), Clock()
        d = fetchTCP(endpoint, clock, 4, [].append)
        clock.advance(4)
        failure = self.failureResultOf(d, ConnectTimeoutError)
        self.assertEqual(str(failure.value), "waiting for the answer of")
        self.assertTrue(endpoint.transport.disconnected)
        endpoint.protocol.connectionLost(Failure(error.ConnectionLost()))  # harmless afterwards

    def test_connectTimeout(self):
        """
        A connection that never completes times out as 'connecting to'.
        """
        clock = Clock()
        d = fetchTCP(FakeEndpoint(hang=True), clock, 4, [].append)
        clock.advance(4)
        self.assertEqual(str(self.failureResultOf(d, ConnectTimeoutError).value), "connecting to")

    def test_tlsFailure(self):
        """
        A TLS failure during the exchange fails it.
        """
        self.patch(connect, "isTLS", lambda transport: True)
        endpoint = FakeEndpoint()
        d = fetchTCP(endpoint, Clock(), 4, [].append)
        endpoint.protocol.connectionLost(Failure(error.ConnectionDone()))
        self.failureResultOf(d, TLSError)

    def test_printDatagram(self):
        """
        A UDP answer is printed line by line, sanitized, last line with or without newline.
        """
        out = []
        printDatagram(b"Wed Nov 25\r\nHave a nice day!\x07", out.append)
        self.assertEqual(out, ["Wed Nov 25\n", "Have a nice day!\n"])


class FakeUDPPort:
    """
    Records what a datagram protocol does with its transport.
    """

    def __init__(self):
        self.connectedTo = None
        self.written = []

    def connect(self, host, port):
        self.connectedTo = (host, port)

    def write(self, data):
        self.written.append(data)


class DaytimeDatagramTests(SynchronousTestCase):
    """
    The UDP Day/Time request: retries, answer, refusal.
    """

    def setUp(self):
        self.clock = Clock()
        self.protocol = DaytimeDatagram("::1", 21566, self.clock)
        self.port = FakeUDPPort()
        self.protocol.makeConnection(self.port)

    def test_requestAndRetry(self):
        """
        One request at once, connected to the server; another every retry interval.
        """
        self.assertEqual(self.port.connectedTo, ("::1", 21566))
        self.assertEqual(len(self.port.written), 1)
        self.clock.advance(UDP_RETRY_INTERVAL)
        self.assertEqual(len(self.port.written), 2)

    def test_answerStopsRetries(self):
        """
        The first answer is the result; no more requests after it.
        """
        self.protocol.datagramReceived(b"Wed\n", ("::1", 21566))
        self.assertEqual(self.successResultOf(self.protocol.answer), b"Wed\n")
        self.clock.advance(UDP_RETRY_INTERVAL * 3)
        self.assertEqual(len(self.port.written), 1)
        self.protocol.datagramReceived(b"again", ("::1", 21566))  # ignored

    def test_refused(self):
        """
        An ICMP port-unreachable reported by the reactor is 'connection refused'.
        """
        self.protocol.connectionRefused()
        self.failureResultOf(self.protocol.answer, error.ConnectionRefusedError)

    def test_portClosedWithoutAnswer(self):
        """
        The port going away before an answer (no socket error known) fails the request.
        """
        self.protocol.doStop()
        self.failureResultOf(self.protocol.answer, error.ConnectionLost)


class ArgumentTests(SynchronousTestCase):
    """
    The command line.
    """

    def parse(self, *argv):
        return cli.parseArgs(list(argv), "1.2.3")

    def usageError(self, *argv):
        stderr = io.StringIO()
        from contextlib import redirect_stderr

        with redirect_stderr(stderr):
            exc = self.assertRaises(SystemExit, self.parse, *argv)
        self.assertEqual(exc.code, 2)
        return stderr.getvalue()

    def test_defaults(self):
        """
        HOST defaults to localhost and each command to its netlab port (L{PORTS}), which is also
        the default port of the service.
        """
        for command in ("daytime", "doctor", "chat"):
            args = self.parse(command)
            self.assertEqual(
                (args.command, args.host, args.port), (command, "localhost", PORTS[command])
            )
            self.assertEqual(args.timeout, 10.0)
            self.assertIsNone(args.connect)
        self.assertFalse(self.parse("daytime").udp)
        self.assertEqual(self.parse("chat").grace, 0.5)
        self.assertIsNone(self.parse("chat").nick)
        self.assertEqual((CHAT.defaultPort, DOCTOR.defaultPort), (PORTS["chat"], PORTS["doctor"]))

    def test_everyOption(self):
        args = self.parse("chat", "::1", "-p", "4000", "--nick", "bob", "--timeout", "2.5",
                          "--grace", "0")
        self.assertEqual((args.host, args.port, args.nick, args.timeout, args.grace),
                         ("::1", 4000, "bob", 2.5, 0.0))
        self.assertTrue(self.parse("daytime", "--udp", "example.org").udp)
        self.assertEqual(self.parse("doctor", "--connect", "unix:path=/x").connect, "unix:path=/x")

    def test_connectExcludesHostAndPort(self):
        message = "--connect replaces HOST"
        self.assertIn(message, self.usageError("chat", "h", "--connect", "tcp:h:1"))
        self.assertIn(message, self.usageError("chat", "-p", "1", "--connect", "x"))

    def test_udpExcludesConnect(self):
        self.assertIn("--udp", self.usageError("daytime", "--udp", "--connect", "tcp:h:1"))

    def test_badValues(self):
        self.assertIn("port out of range", self.usageError("chat", "-p", "70000"))
        self.assertIn("not a port number", self.usageError("chat", "-p", "http"))
        self.assertIn("greater than 0", self.usageError("chat", "--timeout", "0"))
        self.assertIn("not a finite number", self.usageError("chat", "--timeout", "nan"))
        self.assertIn("not a number", self.usageError("chat", "--grace", "soon"))
        self.assertIn("must not be negative", self.usageError("chat", "--grace", "-1"))
        self.assertIn("one word", self.usageError("chat", "--nick", "a b"))
        self.assertIn("one word", self.usageError("chat", "--nick", "bob\n/kick x"))
        self.assertIn("needs an endpoint", self.usageError("chat", "--connect", " "))

    def test_commandRequired(self):
        self.usageError()
        self.usageError("telnet")

    def test_udpOnlyForDaytime(self):
        self.usageError("chat", "--udp")

    def test_version(self):
        out = io.StringIO()
        with redirect_stdout(out):
            exc = self.assertRaises(SystemExit, self.parse, "--version")
        self.assertEqual((exc.code, out.getvalue()), (0, "netlab 1.2.3\n"))

    def test_helpDocumentsEverything(self):
        """
        Each sub-command's help names all its options.
        """
        for command, options in (
            ("daytime", ["--udp", "--port", "--connect", "--timeout", "HOST"]),
            ("chat", ["--nick", "--grace", "--port", "--connect", "--timeout", "Ctrl-D"]),
            ("doctor", ["--grace", "--port", "--connect", "--timeout", "Ctrl-C"]),
        ):
            out = io.StringIO()
            with redirect_stdout(out):
                self.assertRaises(SystemExit, self.parse, command, "--help")
            for option in options:
                self.assertIn(option, out.getvalue(), command)

    def test_versionFromMetadataOrPackage(self):
        """
        The version is the distribution's, falling back to C{netlab.__version__}.
        """
        from importlib import metadata

        self.assertEqual(version(), metadata.version("netlab"))

        def missing(name):
            raise metadata.PackageNotFoundError(name)

        self.patch(metadata, "version", missing)
        self.assertEqual(version(), netlab.__version__)


class TerminalStateTests(SynchronousTestCase):
    """
    Raw mode on a real pseudo-terminal, and restoring it.
    """

    def setUp(self):
        try:
            self.master, self.slave = os.openpty()
        except OSError as exc:
            self.skipTest(f"no pseudo-terminals here: {exc}")
        self.addCleanup(os.close, self.master)
        self.addCleanup(os.close, self.slave)

    def test_rawModeAndRestore(self):
        """
        Raw mode turns off echo, canonical input and signals; restore brings all back.
        """
        state = TerminalState(stdin=self.slave, fds=(self.slave,))
        before = termios.tcgetattr(self.slave)
        state.enterRawMode()
        lflag = termios.tcgetattr(self.slave)[3]
        for flag in (termios.ICANON, termios.ECHO, termios.ISIG):
            self.assertFalse(lflag & flag)
        os.set_blocking(self.slave, False)  # what StandardIO does
        state.restore()
        self.assertEqual(termios.tcgetattr(self.slave), before)
        self.assertTrue(os.get_blocking(self.slave))
        state.restore()  # idempotent

    def test_notATerminal(self):
        """
        On a pipe there is nothing to change, but blocking flags are still restored.
        """
        readEnd, writeEnd = os.pipe()
        self.addCleanup(os.close, readEnd)
        self.addCleanup(os.close, writeEnd)
        state = TerminalState(stdin=readEnd, fds=(readEnd,))
        state.enterRawMode()
        os.set_blocking(readEnd, False)
        state.restore()
        self.assertTrue(os.get_blocking(readEnd))


class KeepStdinOpenTests(SynchronousTestCase):
    """
    L{keepStdinOpen}: a closed standard input is taken by an empty pipe, so that no descriptor the
    client opens later (the reactor's, the connection's) is read as the user's input.
    """

    def test_closedBecomesEndOfInput(self):
        """
        A closed descriptor is opened again, and reads as end of input at once.
        """
        fd = os.dup(2)  # a descriptor number of our own, then closed
        os.close(fd)
        keepStdinOpen(fd)
        self.addCleanup(os.close, fd)
        self.assertEqual(os.read(fd, 100), b"")

    def test_openLeftAlone(self):
        """
        An open descriptor is not touched: what is written to it is still read from it.
        """
        readEnd, writeEnd = os.pipe()
        self.addCleanup(os.close, readEnd)
        self.addCleanup(os.close, writeEnd)
        keepStdinOpen(readEnd)
        os.write(writeEnd, b"typed\n")
        self.assertEqual(os.read(readEnd, 100), b"typed\n")
