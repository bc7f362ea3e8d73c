"""
Decomposition matching: anchoring, leftmost-shortest 0s, classes, and linear cost.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.matcher import Pattern, StepCounter


def parts(pattern: list, text: str) -> list[str] | None:
    """
    Match C{text} and render each component as a string (None if no match).
    """
    result = Pattern.compile(pattern).match(text.split())
    return None if result is None else [" ".join(component) for component in result]


class AmbiguityTests(SynchronousTestCase):
    """
    Every 0 takes as few words as possible, left to right (Hay's match_test cases).
    """

    def test_twoZerosBetweenLiterals(self) -> None:
        self.assertEqual(
            parts([0, "YOU", 0, "I", 0], "YOU KNOW THAT I KNOW YOU HATE I AND YOU LIKE I TOO"),
            ["", "YOU", "KNOW THAT", "I", "KNOW YOU HATE I AND YOU LIKE I TOO"],
        )

    def test_trailingCountAnchorsLastLiteral(self) -> None:
        self.assertEqual(
            parts([0, "ITS", 0, "MARY", 1], "ITS MARY ITS NOT MARY IT IS MARY TOO"),
            ["", "ITS", "MARY ITS NOT MARY IT IS", "MARY", "TOO"],
        )

    def test_adjacentZeros(self) -> None:
        self.assertEqual(parts([0, 0, "BLUE"], "BLUE BLUE"), ["", "BLUE", "BLUE"])

    def test_lastLiteralAnchoredAtEnd(self) -> None:
        self.assertEqual(
            parts([0, "A", 0, "A"], "X X A X X A X X A"), ["X X", "A", "X X A X X", "A"]
        )

    def test_middleSegmentTakesEarliestFit(self) -> None:
        self.assertEqual(parts([0, "A", "B", 0], "A C A B A B"), ["A C", "A", "B", "A B"])

    def test_earliestFitSkipsPartialMatch(self) -> None:
        self.assertEqual(parts([0, "A", 1, "C", 0], "A B D A B C E"), ["A B D", "A", "B", "C", "E"])


class ElementTests(SynchronousTestCase):
    """
    Each kind of element and the anchoring at both ends.
    """

    def test_zeroAloneMatchesAnythingEvenNothing(self) -> None:
        self.assertEqual(parts([0], ""), [""])
        self.assertEqual(parts([0], "A B C"), ["A B C"])

    def test_countMatchesExactlyNWords(self) -> None:
        self.assertEqual(parts([2], "A B"), ["A B"])
        self.assertIsNone(parts([2], "A B C"))
        self.assertIsNone(parts([2], "A"))
        self.assertEqual(parts([0, "X", 2], "Q X A B"), ["Q", "X", "A B"])

    def test_patternIsAnchoredAtBothEnds(self) -> None:
        self.assertIsNone(parts(["A"], "A B"))
        self.assertIsNone(parts(["B"], "A B"))
        self.assertIsNone(parts(["A", 0, "B"], "A B C"))
        self.assertEqual(parts(["A", 0, "B"], "A X Y B"), ["A", "X Y", "B"])

    def test_literalComparesWholeWords(self) -> None:
        self.assertIsNone(parts([0, "YOU", 0], "YOUR DOG"))

    def test_wordSetMatchesOneWord(self) -> None:
        sad = frozenset({"SAD", "UNHAPPY"})
        self.assertEqual(
            parts([0, "ARE", 0, sad, 0], "YOU ARE SO SAD NOW"), ["YOU", "ARE", "SO", "SAD", "NOW"]
        )
        self.assertIsNone(parts([0, sad, 0], "HAPPY DAYS"))

    def test_emptyPatternIsRefused(self) -> None:
        self.assertRaises(ValueError, Pattern.compile, [])

    def test_noRoomForTail(self) -> None:
        self.assertIsNone(parts([0, "A", 0, "A"], "X A"))
        self.assertIsNone(parts(["A", 0, "A"], "A"))

    def test_everyElementGetsAComponent(self) -> None:
        result = Pattern.compile([0, "YOUR", 0]).match(["YOUR"])
        self.assertEqual(result, ((), ("YOUR",), ()))


class CostTests(SynchronousTestCase):
    """
    No exponential backtracking: comparisons grow about linearly with the line.
    """

    def steps(self, pattern: list, words: list[str]) -> tuple[int, object]:
        counter = StepCounter()
        result = Pattern.compile(pattern).match(words, counter)
        return counter.steps, result

    def test_hostileLineCostsLinearSteps(self) -> None:
        pattern = [0, "A", 0, "B", 0, "C", 0]
        small, _ = self.steps(pattern, ["A", "B"] * 500)
        large, result = self.steps(pattern, ["A", "B"] * 2000)
        self.assertIsNone(result)
        self.assertLessEqual(large, 4 * small + 10)
        self.assertLessEqual(large, 2 * 4000)

    def test_failingSegmentScanIsBounded(self) -> None:
        words = ["X"] * 4000 + ["A"]
        pattern = [0, 1, 1, "B", 0, "C", 0]
        steps, result = self.steps(pattern, words)
        self.assertIsNone(result)
        self.assertLessEqual(steps, 3 * len(words))

    def test_successfulMatchOnLongLine(self) -> None:
        words = ["W"] * 3000 + ["A", "W", "B", "W", "C"]
        steps, result = self.steps([0, "A", 0, "B", 0, "C", 0], words)
        self.assertIsNotNone(result)
        self.assertEqual(result[1], ("A",))
        self.assertLessEqual(steps, 20)

    def test_commonAnchorWithAbsentPartnerFailsFast(self) -> None:
        steps, result = self.steps([0, "A", "B", 0], ["A"] * 4000)
        self.assertIsNone(result)
        self.assertLessEqual(steps, 10)

    def test_rareLiteralFoundInOneJump(self) -> None:
        words = ["A"] * 3000 + ["B"] + ["A"] * 10
        steps, result = self.steps([0, "A", "B", 0], words)
        self.assertEqual(result, (("A",) * 2999, ("A",), ("B",), ("A",) * 10))
        self.assertLessEqual(steps, 10)

    def test_wordClassAnchorSearchedInC(self) -> None:
        words = ["X"] * 3000 + ["B", "C"]
        steps, result = self.steps([0, frozenset({"B", "Q"}), "C", 0], words)
        self.assertEqual(result, (("X",) * 3000, ("B",), ("C",), ()))
        self.assertLessEqual(steps, 10)
