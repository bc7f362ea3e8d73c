"""
Tests for L{netlab.text}: decoding bytes and scrubbing text, for the servers
and the client alike.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.text import decode, scrub


class DecodeTests(SynchronousTestCase):
    """
    L{decode}: UTF-8 with replacement, telnet commands removed unless told not
    to.
    """

    def test_invalidUTF8(self) -> None:
        """
        Invalid bytes become U+FFFD instead of an exception.
        """
        self.assertEqual(decode(b"ok\x80\xc3("), "ok\ufffd\ufffd(")

    def test_truncatedSequence(self) -> None:
        """
        A multi-byte sequence cut short at the end of a line is replaced too.
        """
        self.assertEqual(decode(b"\xe2\x82"), "\ufffd")

    def test_telnetStripped(self) -> None:
        """
        IAC commands (Ctrl-C's IAC IP, option negotiation, subnegotiation) go.
        """
        self.assertEqual(decode(b"a\xff\xf4b\xff\xfb\x01c\xff\xfa\x18\x01\xff\xf0d"), "abcd")

    def test_telnetEscapedIAC(self) -> None:
        """
        C{IAC IAC} (an escaped 0xFF, not valid UTF-8 either) goes too, as does
        an IAC cut off at the end of the line.
        """
        self.assertEqual(decode(b"a\xff\xffb\xff"), "ab")

    def test_unterminatedSubnegotiation(self) -> None:
        """
        A subnegotiation without its C{IAC SE} takes the rest of the line.
        """
        self.assertEqual(decode(b"a\xff\xfa\x18\x01hidden"), "a")

    def test_telnetFalse(self) -> None:
        """
        With C{telnet=False} a 0xFF byte is an invalid byte like any other:
        replaced, and the bytes after it are kept.
        """
        self.assertEqual(
            decode(b"caf\xc3\xa9 \xff\xfe ok", telnet=False), "caf\u00e9 \ufffd\ufffd ok"
        )
        self.assertEqual(decode(b"hi \xff", telnet=False), "hi \ufffd")

    def test_plainUnchanged(self) -> None:
        """
        Valid UTF-8 without 0xFF decodes the same either way.
        """
        data = "Grüße, 世界 ✓".encode()
        self.assertEqual(decode(data), "Grüße, 世界 ✓")
        self.assertEqual(decode(data, telnet=False), "Grüße, 世界 ✓")


class ScrubTests(SynchronousTestCase):
    """
    L{scrub}: nothing that drives a terminal or disguises a line gets through.
    """

    def test_scrub(self) -> None:
        """
        Escape sequences and controls go; a tab becomes a space.
        """
        self.assertEqual(scrub("a\x1b[31mb\x1b]0;title\x07c\x9b1md\x00e\tf"), "abcde f")

    def test_scrubInvisible(self) -> None:
        """
        Bidi controls, zero-width characters and line/paragraph separators go:
        they let one line pass for another (U+202E reverses what follows, U+2028
        starts a new line in splitlines() and JavaScript).
        """
        disguised = "a\u202eb\u202bc\u200fd\u200be\ufefff\u2028g\u2029h\u2066i\u2069j\u061ck"
        self.assertEqual(scrub(disguised), "abcdefghijk")
        visible = "caf\u00e9 \U0001f600 \u4e2d\u6587"
        self.assertEqual(scrub(visible), visible)

    def test_scrubPrintable(self) -> None:
        """
        Printable text is returned as it is, not copied.
        """
        text = "plain text ☃"
        self.assertIs(scrub(text), text)

    def test_csiRemoved(self) -> None:
        """
        Colour and cursor-movement sequences are removed, the text kept.
        """
        self.assertEqual(scrub("\x1b[31mred\x1b[0m \x1b[2J\x1b[1;1Hhome"), "red home")

    def test_oscRemoved(self) -> None:
        """
        A title-setting OSC string (terminated by BEL or ST) disappears entirely.
        """
        self.assertEqual(scrub("a\x1b]0;pwned\x07b\x1b]2;x\x1b\\c"), "abc")

    def test_c1AndC0Removed(self) -> None:
        """
        C0 controls (but tab), DEL, and C1 controls including 8-bit CSI are
        removed.
        """
        self.assertEqual(scrub("a\x00b\x07c\x08d\x7fe\x9b31mf\x85g\th"), "abcdefg h")

    def test_otherEscapes(self) -> None:
        """
        Two-character escapes such as ESC c (reset) and charset selection are
        removed.
        """
        self.assertEqual(scrub("x\x1bcy\x1b(Bz"), "xyz")

    def test_unterminatedEscapeAtEnd(self) -> None:
        """
        An escape sequence cut off at the end of the line does not survive.
        """
        self.assertEqual(scrub("text\x1b[3"), "text")
        self.assertEqual(scrub("text\x1b"), "text")

    def test_unterminatedStringCommand(self) -> None:
        """
        An OSC string without its terminator takes the rest of the text.
        """
        self.assertEqual(scrub("shown\x1b]0;hidden title"), "shown")

    def test_keepTabs(self) -> None:
        """
        With C{keepTabs} a tab stays a tab; everything else goes as before.
        """
        self.assertEqual(
            scrub("a\x00b\x07c\x08d\x7fe\x9b31mf\x85g\th", keepTabs=True), "abcdefg\th"
        )
        self.assertEqual(scrub("a\tb\u202ec", keepTabs=True), "a\tbc")

    def test_tabsOnly(self) -> None:
        """
        A tab alone makes text unprintable, so it is scrubbed too.
        """
        self.assertEqual(scrub("a\tb"), "a b")
        self.assertEqual(scrub("a\tb", keepTabs=True), "a\tb")
