"""
Reading what Redis says about a Stream: entry IDs, entries, C{XINFO STREAM}.
"""

from __future__ import annotations


def _number(entryId: str) -> tuple[int, int]:
    milliseconds, _, sequence = entryId.partition("-")
    return int(milliseconds or 0), int(sequence or 0)


def newer(a: str, b: str) -> bool:
    """
    Whether stream entry ID C{a} (C{MILLISECONDS-SEQUENCE}) comes after C{b}.
    """
    return _number(a) > _number(b)


def text(value: str | bytes) -> str:
    """
    A value as text (txredisapi leaves what is not UTF-8 as bytes).
    """
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def parseEntries(reply: list | None) -> list[tuple[str, dict[str, str]]]:
    """
    C{XRANGE}/C{XREAD} entries (C{[[ID, [FIELD, VALUE, ...]], ...]}) as
    (ID, fields) pairs.
    """
    entries = []
    for entryId, flat in reply or ():
        flat = [text(value) for value in flat or ()]
        entries.append((text(entryId), dict(zip(flat[::2], flat[1::2], strict=False))))
    return entries


def parseInfo(reply: list) -> dict[str, str]:
    """
    The plain (not nested) fields of C{XINFO STREAM}'s reply, as text.
    """
    return {
        text(key): text(value)
        for key, value in zip(reply[::2], reply[1::2], strict=False)
        if isinstance(value, (str, bytes, int))
        for value in [str(value) if isinstance(value, int) else value]
    }
