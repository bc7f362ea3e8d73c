"""SLIP HASH check values from docs/ALGORITHM.md 2.8 (the CACM paper and Hay's emulator runs)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.hashing import bcd_value, last_cell, slip_hash


class SlipHashTests(SynchronousTestCase):
    def test_cacm_paper_value(self) -> None:
        self.assertEqual(slip_hash("ALWAYS", 7), 14)

    def test_memory_check_values(self) -> None:
        expected = {
            3: "HERE MOTHER PREDICAMENT EXECUTIONERS PARENTS SISTER",
            2: "YOU ME FATHER GLOUCESTERSHIRE",
            1: "EVERYBODY TOES HURTS KIDS PURPOSE I",
            0: "TIME DEVONSHIRE WIFE HEAD",
        }
        for value, words in expected.items():
            for word in words.split():
                self.assertEqual(slip_hash(word, 2), value, word)

    def test_last_cell_is_last_six_characters_padded(self) -> None:
        self.assertEqual(last_cell("EVERYBODY"), b"ODY   ")
        self.assertEqual(last_cell("PURPOSE"), b"E     ")
        self.assertEqual(last_cell("SISTER"), b"SISTER")
        self.assertEqual(last_cell(""), b"      ")

    def test_non_ascii_counts_utf8_bytes(self) -> None:
        self.assertEqual(last_cell("ÉÉÉÉ"), "É".encode() + b"    ")
        self.assertIn(slip_hash("日本語", 2), range(4))

    def test_bcd_codes(self) -> None:
        self.assertEqual(bcd_value(b"A     "), int("216060606060", 8))
        self.assertEqual(bcd_value(b"0'Z,( "), int("001471737460", 8))

    def test_bits_out_of_range(self) -> None:
        self.assertRaises(ValueError, slip_hash, "X", 0)
        self.assertRaises(ValueError, slip_hash, "X", 36)
