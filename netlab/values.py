"""
Parsers for the values options take: sizes, durations, counts, and bounds on
any of them.

Each parser takes the text as typed and returns the value, or raises
L{ValueError} with a message that quotes the text; the caller (L{netlab.tap})
puts the option's name in front.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SIZE = re.compile(r"^\s*([0-9]+)\s*([kKmMgG]?)[iI]?[bB]?\s*$")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms|[smhd]?)", re.IGNORECASE)
_UNITS = {"ms": 0.001, "": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_COUNT = re.compile(r"\s*-?[0-9]+\s*")


def parseSize(value: str) -> int:
    """
    Parse a byte count with an optional K/M/G suffix (powers of 1024).
    """
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a size like 65536, 64K or 1M")
    number, suffix = match.groups()
    return int(number) * 1024 ** " kmg".index(suffix.lower() or " ")


def parseDuration(value: str) -> float:
    """
    Parse a duration in seconds: C{90}, C{90s}, C{1.5}, C{250ms}, C{30m},
    C{1h}, C{2d}, or several together (C{1h30m}).
    """
    text = value.strip()
    parts = list(_DURATION.finditer(text))
    if not text or "".join(p.group(0) for p in parts).replace(" ", "") != text.replace(" ", ""):
        raise ValueError(f"{value!r} is not a duration like 90, 90s, 250ms, 30m or 1h")
    return sum(float(p.group(1)) * _UNITS[p.group(2).lower()] for p in parts)


def count(value: str) -> int:
    """
    Parse a whole number that is not negative (ASCII digits only).
    """
    if not _COUNT.fullmatch(value):
        raise ValueError(f"{value!r} is not a whole number")
    number = int(value)
    if number < 0:
        raise ValueError(f"{value!r} is negative")
    return number


def zeroOrAtLeast(least: float, parse: Callable[[str], float]) -> Callable[[str], float]:
    """
    C{parse}, refusing values above 0 but under C{least} seconds (0 means off).
    """

    def bounded(value: str) -> float:
        number = parse(value)
        if 0 < number < least:
            raise ValueError(f"{value!r} is less than {least:g} s (0 turns it off)")
        return number

    return bounded


def atMost(
    limit: int, parse: Callable[[str], float], shown: Callable[[int], str] = str
) -> Callable[[str], float]:
    """
    C{parse}, refusing values over C{limit} (named as C{shown} writes it).
    """

    def bounded(value: str) -> float:
        number = parse(value)
        if number > limit:
            raise ValueError(f"{value!r} is more than {shown(limit)}")
        return number

    return bounded


def positive(parse: Callable[[str], float]) -> Callable[[str], float]:
    """
    C{parse}, refusing values of 0 or less.
    """

    def bounded(value: str) -> float:
        number = parse(value)
        if number <= 0:
            raise ValueError(f"{value!r} must be more than 0")
        return number

    return bounded


def formatSize(size: int) -> str:
    """
    C{size} bytes as L{parseSize} reads it, in the largest unit that divides
    it: C{1M}, C{64K}, C{100}.
    """
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def formatDuration(seconds: float) -> str:
    """
    C{seconds} as L{parseDuration} reads it, in the largest unit that divides
    it: C{30m}, C{10s}, C{250ms}, C{1h30m} is C{90m}.
    """
    for unit in ("d", "h", "m", "s"):
        factor = _UNITS[unit]
        if seconds and seconds % factor == 0:
            return f"{int(seconds // factor)}{unit}"
    if seconds and (seconds * 1000) % 1 == 0:
        return f"{int(seconds * 1000)}ms"
    return f"{seconds:g}"
