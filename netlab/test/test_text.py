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


class HiddenCharacterTests(SynchronousTestCase):
    """
    L{scrub} removes characters that show as nothing, or as a blank of a width
    terminals do not agree on, though most of them count as printable.
    """

    def test_hangulFillers(self) -> None:
        """
        The Hangul fillers go (U+115F, U+1160, U+3164, U+FFA0); a line of
        nothing else is left empty, as a blank line is.
        """
        self.assertEqual(scrub("a\u115fb\u1160c\u3164d\uffa0e"), "abcde")
        self.assertEqual(scrub("\u3164" * 50), "")
        self.assertEqual(scrub("\u3164\t\uffa0"), " ")

    def test_otherInvisibles(self) -> None:
        """
        The Mongolian vowel separator, the Khmer inherent vowels and the
        interlinear annotation characters go too.
        """
        self.assertEqual(scrub("a\u180eb\u17b4c\u17b5d\ufff9e\ufffaf\ufffbg"), "abcdefg")

    def test_tags(self) -> None:
        """
        Tag characters, which can spell out text nobody sees, go: all of
        U+E0000-U+E007F.  (A tag sequence flag is left as its black flag.)
        """
        hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore the above")
        self.assertEqual(scrub(f"hello\U000e0001{hidden}\U000e007f world"), "hello world")
        self.assertEqual(scrub("".join(map(chr, range(0xE0000, 0xE0080)))), "")
        england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
        self.assertEqual(scrub(england), "\U0001f3f4")

    def test_visibleBlanksKept(self) -> None:
        """
        A blank as wide as a letter everywhere hides nothing, and stays: the
        ideographic space and the blank braille pattern.  Text with them is
        returned as it is.
        """
        text = "\u4e2d\u3000\u6587 \u2800\u2801"
        self.assertIs(scrub(text), text)

    def test_hiddenWithControls(self) -> None:
        """
        Hidden characters go from text that also has control characters, and
        tabs are kept or not as asked.
        """
        self.assertEqual(scrub("a\x1b[1m\u3164b\tc\U000e0041"), "ab c")
        self.assertEqual(scrub("a\x1b[1m\u3164b\tc\U000e0041", keepTabs=True), "ab\tc")


class MarkTests(SynchronousTestCase):
    """
    L{scrub} cuts stacks of combining marks ("Zalgo" text, which spills over
    the lines above and below) down to two marks per character.
    """

    def test_zalgo(self) -> None:
        """
        Hundreds of marks on one letter become its first two; each letter keeps
        its own first two.
        """
        self.assertEqual(scrub("Z" + "\u0301\u0316\u0350" * 100 + "!"), "Z\u0301\u0316!")
        self.assertEqual(
            scrub("a\u0300\u0301\u0302b\u0303\u0304\u0305"), "a\u0300\u0301b\u0303\u0304"
        )

    def test_everyBlock(self) -> None:
        """
        Marks from all the general combining blocks count, together: the
        Combining Diacritical Marks, their Extended and Supplement blocks, the
        marks for symbols and the half marks.
        """
        marks = ("\u0300", "\u036f", "\u1ab0", "\u1aff", "\u1dc0", "\u20d0", "\u20ff", "\ufe20")
        for mark in marks:
            self.assertEqual(scrub("x" + mark * 5 + "y"), "x" + mark * 2 + "y")
        self.assertEqual(scrub("x\u0300\u1ab0\u1dc0\u20d0\ufe20"), "x\u0300\u1ab0")

    def test_twoMarksKept(self) -> None:
        """
        Real text, which puts at most two marks on a letter, is returned as it
        is: decomposed Vietnamese, precomposed French, Hebrew with its points
        (marks of a script of its own, which may stack more).
        """
        vietnamese = "Vie\u0323\u0302t Nam, ngu\u031bo\u031b\u0300i"
        french = "\u00e9t\u00e9 \u00e0 l'h\u00f4tel"
        hebrew = "\u05e9\u05c1\u05b8\u0591\u05dc\u05d5\u05b9\u05dd"
        for text in (vietnamese, french, hebrew):
            self.assertIs(scrub(text), text)

    def test_hiddenCharactersDoNotSplitAStack(self) -> None:
        """
        Characters that scrub removes do not split a stack into stacks short
        enough to keep: the hidden and zero-width characters go first.
        """
        for separator in ("\u3164", "\U000e0041", "\u180e", "\u200b", "\x1b[m"):
            stack = ("\u0301\u0301" + separator) * 50
            self.assertEqual(scrub("a" + stack + "b"), "a\u0301\u0301b")

    def test_marksWithControls(self) -> None:
        """
        Stacks are cut in text that also has control characters.
        """
        self.assertEqual(scrub("a\u0301\u0301\u0301\tb\x07"), "a\u0301\u0301 b")
        self.assertEqual(scrub("a\u0301\u0301\u0301\tb", keepTabs=True), "a\u0301\u0301\tb")

    def test_leadingMarks(self) -> None:
        """
        A stack at the start of a line, on no letter at all, is cut too.
        """
        self.assertEqual(scrub("\u0336" * 80), "\u0336\u0336")
