"""
SLIP HASH check values from docs/ALGORITHM.md 2.8 (the CACM paper and Hay's emulator runs).
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.hashing import bcdValue, lastCell, slipHash


class SlipHashTests(SynchronousTestCase):
    def test_cacmPaperValue(self) -> None:
        self.assertEqual(slipHash("ALWAYS", 7), 14)

    def test_memoryCheckValues(self) -> None:
        expected = {
            3: "HERE MOTHER PREDICAMENT EXECUTIONERS PARENTS SISTER",
            2: "YOU ME FATHER GLOUCESTERSHIRE",
            1: "EVERYBODY TOES HURTS KIDS PURPOSE I",
            0: "TIME DEVONSHIRE WIFE HEAD",
        }
        for value, words in expected.items():
            for word in words.split():
                self.assertEqual(slipHash(word, 2), value, word)

    def test_lastCellIsLastSixCharactersPadded(self) -> None:
        self.assertEqual(lastCell("EVERYBODY"), b"ODY   ")
        self.assertEqual(lastCell("PURPOSE"), b"E     ")
        self.assertEqual(lastCell("SISTER"), b"SISTER")
        self.assertEqual(lastCell(""), b"      ")

    def test_nonAsciiCountsUtf8Bytes(self) -> None:
        self.assertEqual(lastCell("ÉÉÉÉ"), "É".encode() + b"    ")
        self.assertIn(slipHash("日本語", 2), range(4))

    def test_bcdCodes(self) -> None:
        self.assertEqual(bcdValue(b"A     "), int("216060606060", 8))
        self.assertEqual(bcdValue(b"0'Z,( "), int("001471737460", 8))

    def test_bitsOutOfRange(self) -> None:
        self.assertRaises(ValueError, slipHash, "X", 0)
        self.assertRaises(ValueError, slipHash, "X", 36)
