"""The result model shared by scenarios and the report, plus small statistics helpers."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Target:
    """One of issue 7's targets, evaluated on ratios from this run.

    ``met`` is None when the figure could not be measured (for example ngircd missing).
    """

    name: str
    rule: str
    value: str
    met: bool | None
    note: str = ""


@dataclass
class Table:
    """A Markdown table: a title, column headers, rows of already-formatted cells."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    """Everything one scenario reports."""

    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # plot name -> series label -> list of (x, y)
    series: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)


@dataclass
class Context:
    """What every scenario needs: run size, generator binaries, a logger, output dir."""

    quick: bool
    rounds: int
    seconds: float
    bins: dict[str, Path]
    log: Callable[[str], None]
    out: Path
    ngircd_note: str = ""


def median(values: Iterable[float]) -> float:
    """Median of the values, NaN when there are none."""
    vals = [v for v in values if v == v]
    return statistics.median(vals) if vals else float("nan")


def ratio(a: float, b: float) -> float:
    """a / b, NaN when either is missing or b is zero."""
    if a != a or b != b or b == 0:
        return float("nan")
    return a / b


def fmt(value: float, digits: int = 0) -> str:
    """A number for a table cell: thousands separators, '–' for missing."""
    if value != value:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def fmt_ratio(value: float) -> str:
    """A ratio for a table cell, e.g. ``0.93×``."""
    return "–" if value != value else f"{value:.2f}×"


def verdict(met: bool | None) -> str:
    """The met/missed cell."""
    return {True: "**met**", False: "**missed**", None: "not measured"}[met]


def rotated(items: list, k: int) -> list:
    """``items`` rotated by ``k``, so each round starts with a different server."""
    if not items:
        return []
    k %= len(items)
    return items[k:] + items[:k]
