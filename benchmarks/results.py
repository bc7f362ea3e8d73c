"""
The result model shared by scenarios and the report, plus small statistics helpers.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Target:
    """
    One of issue 7's targets, evaluated on ratios from this run.

    @ivar name: what is measured.
    @ivar rule: what the target asks for.
    @ivar value: the measured figure, formatted.
    @ivar met: whether the target is met; L{None} when the figure could not be
        measured (for example ngircd missing).
    @ivar note: a remark shown beside the figure.
    """

    name: str
    rule: str
    value: str
    met: bool | None
    note: str = ""


@dataclass
class Table:
    """
    A Markdown table: a title, column headers, rows of already-formatted cells.

    @ivar notes: lines printed below the table.
    """

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    """
    Everything one scenario reports.

    @ivar key: the scenario's name, its key in C{raw.json}.
    @ivar title: the heading of its section in the report.
    @ivar series: plot name -> series label -> list of (x, y).
    """

    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # plot name -> series label -> list of (x, y)
    series: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)


@dataclass
class Context:
    """
    What every scenario needs: run size, generator binaries, a logger, output dir.

    @ivar quick: whether this is the smoke run.
    @ivar rounds: how many interleaved rounds.
    @ivar seconds: measured seconds per run.
    @ivar bins: load generator name -> path of its binary.
    @ivar log: called with each line of progress.
    @ivar out: the output directory.
    @ivar ngircdNote: ngircd's version, or why it is missing.
    @ivar redisNote: redis-server's version, or why it is missing.
    """

    quick: bool
    rounds: int
    seconds: float
    bins: dict[str, Path]
    log: Callable[[str], None]
    out: Path
    ngircdNote: str = ""
    redisNote: str = ""


def median(values: Iterable[float]) -> float:
    """
    The median of C{values}, NaNs left out.

    @return: the median, NaN when there are no values.
    """
    vals = [v for v in values if v == v]
    return statistics.median(vals) if vals else float("nan")


def ratio(a: float, b: float) -> float:
    """
    C{a / b}.

    @return: the ratio, NaN when either is missing (NaN) or C{b} is zero.
    """
    if a != a or b != b or b == 0:
        return float("nan")
    return a / b


def fmt(value: float, digits: int = 0) -> str:
    """
    A number for a table cell: thousands separators, C{–} for missing.

    @param value: the number; NaN for missing.
    @param digits: digits after the decimal point.
    """
    if value != value:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def fmtRatio(value: float) -> str:
    """
    A ratio for a table cell, for example C{0.93×}; C{–} for missing (NaN).
    """
    return "–" if value != value else f"{value:.2f}×"


def verdict(met: bool | None) -> str:
    """
    The met/missed cell.

    @param met: L{Target.met}.
    """
    return {True: "**met**", False: "**missed**", None: "not measured"}[met]


def rotated(items: list, k: int) -> list:
    """
    C{items} rotated by C{k}, so each round starts with a different server.

    @return: a new list (empty for no items).
    """
    if not items:
        return []
    k %= len(items)
    return items[k:] + items[:k]
