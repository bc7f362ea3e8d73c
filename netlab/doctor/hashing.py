"""
The SLIP C{HASH} function that 1966 ELIZA used to pick a MEMORY entry.

The CACM paper says the memory transformation is "randomly selected", but the
MAD-SLIP source computes C{HASH(last word, 2)}: a mid-square hash of the last
six-character BCD cell of the word.  Reproducing it exactly is what makes the
memories in the reference conversations come out the same (docs/ALGORITHM.md 2.8).
"""

from __future__ import annotations

_CELL_CHARS = 6  # SLIP packs six 6-bit BCD characters into one 36-bit cell
_SIGN_BIT_MASK = (1 << 35) - 1

# IBM 7090 BCD codes (octal), as listed in docs/ALGORITHM.md 2.8.
_BCD_GROUPS = (
    ("0123456789", 0o00),
    ("=", 0o13),
    ("'", 0o14),
    ("+", 0o20),
    ("ABCDEFGHI", 0o21),
    (".", 0o33),
    (")", 0o34),
    ("-", 0o40),
    ("JKLMNOPQR", 0o41),
    ("$", 0o53),
    ("*", 0o54),
    (" ", 0o60),
    ("/", 0o61),
    ("STUVWXYZ", 0o62),
    (",", 0o73),
    ("(", 0o74),
)


def _buildTable() -> tuple[int, ...]:
    """
    Map every byte value to its 6-bit code; bytes outside BCD keep their low 6 bits.
    """
    table = [byte & 0o77 for byte in range(256)]
    for chars, first in _BCD_GROUPS:
        for offset, char in enumerate(chars):
            table[ord(char)] = first + offset
    return tuple(table)


_BCD_TABLE = _buildTable()


def lastCell(word: str) -> bytes:
    """
    Return the last 6-byte SLIP cell of C{word}, padded on the right with spaces.

    Hay chunks UTF-8 I{bytes}, so non-ASCII words count their encoded length.
    """
    data = word.encode("utf-8", "replace")
    start = ((len(data) - 1) // _CELL_CHARS) * _CELL_CHARS if data else 0
    return data[start:].ljust(_CELL_CHARS, b" ")


def bcdValue(cell: bytes) -> int:
    """
    Pack six bytes as 6-bit BCD codes, most significant first, into a 36-bit int.
    """
    value = 0
    for byte in cell:
        value = (value << 6) | _BCD_TABLE[byte]
    return value


def slipHash(word: str, bits: int) -> int:
    """
    Return SLIP C{HASH(word, bits)}: the 7094 mid-square hash of the word's last cell.

    Clear the sign bit, square exactly, shift right by C{35 - bits // 2} and keep
    the low C{bits} bits.  C{slipHash("ALWAYS", 7) == 14} (CACM paper, p.38).

    @param word: the word to hash.
    @param bits: how many bits the hash has, 1 to 35.
    @raise ValueError: if C{bits} is out of range.
    """
    if not 0 < bits <= 35:
        raise ValueError("bits must be between 1 and 35")
    value = bcdValue(lastCell(word)) & _SIGN_BIT_MASK
    return ((value * value) >> (35 - bits // 2)) & ((1 << bits) - 1)
