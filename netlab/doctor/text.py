"""
Reading the user's line: length cap, Hay's normalisation and tokenising (docs/ALGORITHM.md 2.3).

Normalisation follows Hay's mapping, which the reference conversations depend on:

  - C{?} and C{!} become C{.} (so they end a clause);
  - C{:}, C{;}, EN DASH and EM DASH become C{,};
  - RIGHT SINGLE QUOTATION MARK becomes an apostrophe;
  - the other quote marks, C{¡} and C{¿} become a space;
  - everything is upper-cased (Python's C{str.upper} also spells out C{ß} and the
    C{ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ} ligatures, as Hay does).

netlab adds two things for a public server: control characters become spaces, and
lone surrogates (which cannot be encoded) become U+FFFD.  Input longer than
L{MAX_INPUT_CHARS} is cut at the last whitespace before the limit.
"""

from __future__ import annotations

import re

#: Longest input the engine reads.  The network layer caps lines at 4096 bytes anyway;
#: this cap also protects direct callers.  Longer text is truncated at a word boundary.
MAX_INPUT_CHARS = 4096

#: Tokens that end a clause (docs/ALGORITHM.md 2.4).  BUT comes from the MAD-SLIP source.
DELIMITERS = frozenset({",", ".", "BUT"})


def _mapping() -> dict[int, str]:
    """
    The C{str.translate} table for the character mappings above.
    """
    table: dict[int, str] = {}
    for char in "?!":
        table[ord(char)] = "."
    for char in ":;\u2013\u2014":
        table[ord(char)] = ","
    table[0x2019] = "'"
    for char in '"`\u2018\u00ab\u00bb\u201a\u201b\u201c\u201d\u201e\u201f\u2039\u203a\u00a1\u00bf':
        table[ord(char)] = " "
    for code in (*range(0x00, 0x20), *range(0x7F, 0xA0)):
        table[code] = " "
    for code in range(0xD800, 0xE000):
        table[code] = "\ufffd"
    return table


_MAPPING = _mapping()

#: The mappings of printable characters, as C{(character, replacement)} pairs.
_PRINTABLE_MAPPING = tuple(
    (chr(code), target) for code, target in _MAPPING.items() if chr(code).isprintable()
)

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def truncate(text: str, limit: int = MAX_INPUT_CHARS) -> tuple[str, bool]:
    """
    Cut C{text} to at most C{limit} characters, at whitespace when there is some.

    The cut falls on the last whitespace before the limit unless that would
    lose more than half the text.

    @return: the text, and whether it was cut.
    """
    if len(text) <= limit:
        return text, False
    head = text[:limit]
    space = max(head.rfind(" "), head.rfind("\t"), head.rfind("\n"))
    if space > limit // 2:
        head = head[:space]
    return head, True


def normalise(text: str) -> str:
    """
    Apply Hay's character mapping and upper-case the result.

    C{str.translate} is fast on ASCII text only; on other text it costs a dict
    lookup per character, so the few mapped characters are replaced one by one
    with C{str.replace} (each a C scan), and control characters and surrogates,
    which printable text lacks, with a regular expression.  No replacement makes a
    character that another one maps, so the order does not matter.
    """
    if text.isascii():
        return text.translate(_MAPPING).upper()
    for char, target in _PRINTABLE_MAPPING:
        if char in text:
            text = text.replace(char, target)
    if not text.isprintable():
        text = _SURROGATE.sub("\ufffd", _CONTROL.sub(" ", text))
    return text.upper()


def tokenise(text: str) -> list[str]:
    """
    Split normalised text on whitespace; every C{,} and C{.} is a token of its own.
    """
    return text.replace(",", " , ").replace(".", " . ").split()


def readLine(text: str) -> tuple[list[str], bool]:
    """
    Truncate, normalise and tokenise a user's line.

    @return: the tokens, and whether the line was truncated.
    """
    text, cut = truncate(text)
    return tokenise(normalise(text)), cut
