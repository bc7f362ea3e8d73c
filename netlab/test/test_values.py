"""
Tests for L{netlab.values}: sizes, durations, counts and their bounds.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.ratelimit import Rate
from netlab.values import (
    atMost,
    count,
    formatDuration,
    formatSize,
    parseDuration,
    parseSize,
    positive,
    zeroOrAtLeast,
)


class ValueTests(SynchronousTestCase):
    def test_parseDuration(self) -> None:
        for text, seconds in (
            ("90", 90), ("90s", 90), ("1.5", 1.5), ("250ms", 0.25), ("30m", 1800),
            ("1h", 3600), ("1H", 3600), ("2d", 172800), ("1h30m", 5400), (" 0 ", 0),
        ):
            self.assertEqual(parseDuration(text), seconds, text)
        for text in ("", "soon", "1x", "h", "1h soon", "-1"):
            self.assertRaises(ValueError, parseDuration, text)

    def test_parseSize(self) -> None:
        self.assertEqual(parseSize("4096"), 4096)
        self.assertEqual(parseSize("1M"), 1 << 20)
        self.assertEqual(parseSize("2KiB"), 2048)
        self.assertRaises(ValueError, parseSize, "1.5M")

    def test_count(self) -> None:
        """
        A count is a whole number, not negative, in the digits 0-9.
        """
        self.assertEqual(count(" 42 "), 42)
        for text, message in (
            ("-1", "'-1' is negative"),
            ("many", "'many' is not a whole number"),
            ("\u0661", "'\u0661' is not a whole number"),
        ):
            with self.assertRaises(ValueError, msg=text) as caught:
                count(text)
            self.assertEqual(str(caught.exception), message)

    def test_bounds(self) -> None:
        """
        The bounds refuse what is out of them, quoting the value as typed.
        """
        self.assertEqual(atMost(10, count)("10"), 10)
        self.assertEqual(positive(parseSize)("1K"), 1024)
        self.assertEqual(zeroOrAtLeast(1.0, parseDuration)("0"), 0)
        self.assertEqual(zeroOrAtLeast(1.0, parseDuration)("1s"), 1)
        for parse, text, message in (
            (atMost(10, count), "11", "'11' is more than 10"),
            (positive(parseSize), "0", "'0' must be more than 0"),
            (zeroOrAtLeast(1.0, parseDuration), "1ms", "'1ms' is less than 1 s (0 turns it off)"),
        ):
            with self.assertRaises(ValueError, msg=text) as caught:
                parse(text)
            self.assertEqual(str(caught.exception), message)

    def test_formatRoundTrips(self) -> None:
        """
        A size or duration formatted for the help text reads back as itself.
        """
        for size, text in ((1 << 20, "1M"), (65536, "64K"), (100, "100"), (3 << 30, "3G")):
            self.assertEqual(formatSize(size), text)
            self.assertEqual(parseSize(text), size)
        for seconds, text in ((1800.0, "30m"), (10.0, "10s"), (0.25, "250ms"), (86400.0, "1d")):
            self.assertEqual(formatDuration(seconds), text)
            self.assertEqual(parseDuration(text), seconds)
        for rate, text in ((Rate(5.0, 20), "5/s,20"), (Rate(0.5, 3), "30/m,3")):
            self.assertEqual(str(rate), text)
            self.assertEqual(Rate.parse(text), rate)
