"""
Decomposition patterns: compiled once at parse time, matched without backtracking.

A pattern is a tuple of elements:

  - C{0} matches any number of words, none included;
  - a positive C{int} n matches exactly n words;
  - a C{str} matches one word equal to it;
  - a C{frozenset} matches one word that is in it (C{(*A B)} and C{(/TAG)}, the
    latter resolved to the words of the class when the script is read).

Matching is anchored at both ends and every C{0} takes as few words as
possible, left to right (docs/ALGORITHM.md 2.7).  Plain depth-first backtracking
costs about O(n^k) for k C{0}s; instead the pattern is cut into segments at
each C{0}.  The first segment is anchored at the start, the last at the end,
and each middle segment is placed at the earliest position where it fits.
That is the same answer the backtracking search gives: every later segment
starts after a C{0}, which can absorb any shift, so if the rest cannot match
after the earliest placement it cannot match after a later one either.  The
earliest placement is found by leapfrogging between the segment's literals and
word classes with C-level searches (L{_earliest}), so the cost is at most
O(n * m) steps for n words and a pattern of m elements, and usually a few.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

Element = int | str | frozenset
Components = tuple[tuple[str, ...], ...]


class StepCounter:
    """
    Counts word comparisons so tests can check the matcher's cost structurally.

    @ivar steps: the comparisons counted so far.
    """

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps = 0


@dataclass(frozen=True)
class Segment:
    """
    A run of fixed-width elements between two C{0}s.

    @ivar items: C{(element index, word offset, element)} for each element.
    @ivar width: the number of words the run covers.
    @ivar anchors: C{(word offset, element)} for the elements that test a word
        (a C{str} or a C{frozenset}); a width element fits any words, so it
        needs no test.
    """

    items: tuple[tuple[int, int, Element], ...]
    width: int
    anchors: tuple[tuple[int, str | frozenset], ...]


def _segment(elements: Sequence[tuple[int, Element]]) -> Segment:
    """
    Build a L{Segment} from C{(index, element)} pairs that contain no C{0}.
    """
    items = []
    anchors = []
    offset = 0
    for index, element in elements:
        items.append((index, offset, element))
        if isinstance(element, int):
            offset += element
        else:
            anchors.append((offset, element))
            offset += 1
    return Segment(tuple(items), offset, tuple(anchors))


@dataclass(frozen=True)
class Pattern:
    """
    A compiled decomposition pattern (see the module docstring).

    @ivar elements: the pattern as written.
    @ivar segments: the runs between the C{0}s, in order.
    @ivar zeros: the index in C{elements} of every C{0}.
    """

    elements: tuple[Element, ...]
    segments: tuple[Segment, ...]
    zeros: tuple[int, ...]

    @classmethod
    def compile(cls, elements: Sequence[Element]) -> Pattern:
        """
        Cut C{elements} into segments at each C{0}.

        @raise ValueError: if the pattern is empty or has a negative word count.
        """
        elements = tuple(elements)
        if not elements:
            raise ValueError("empty decomposition pattern")
        segments: list[Segment] = []
        zeros: list[int] = []
        current: list[tuple[int, Element]] = []
        for index, element in enumerate(elements):
            if isinstance(element, int) and element < 0:
                raise ValueError("negative word count in pattern")
            if element == 0 and isinstance(element, int):
                segments.append(_segment(current))
                zeros.append(index)
                current = []
            else:
                current.append((index, element))
        segments.append(_segment(current))
        return cls(elements, tuple(segments), tuple(zeros))

    def match(self, words: Sequence[str], counter: StepCounter | None = None) -> Components | None:
        """
        Match C{words} against the pattern.

        @param counter: if given, counts the word comparisons made.
        @return: one tuple of words per element, or C{None} if the pattern fails.
        """
        spans = _place(self.segments, words, counter)
        if spans is None:
            return None
        return _components(self, spans, words)


def _fits(segment: Segment, words: Sequence[str], start: int, counter: StepCounter | None) -> bool:
    """
    Whether C{segment} matches C{words} beginning at C{start} (bounds already checked).
    """
    for offset, element in segment.anchors:
        if counter is not None:
            counter.steps += 1
        word = words[start + offset]
        if (word != element) if isinstance(element, str) else (word not in element):
            return False
    return True


def _find(element: str | frozenset, words: Sequence[str], low: int, high: int) -> int:
    """
    Index of the first word in C{words[low:high]} that C{element} accepts, else -1.

    Both searches run in C (C{list.index}, C{filter} over a set's C{__contains__}),
    so skipping a long stretch of non-matching words costs no Python loop.
    """
    if isinstance(element, str):
        target = element
    else:
        target = next(filter(element.__contains__, islice(words, low, high)), None)
        if target is None:
            return -1
    try:
        return words.index(target, low, high)
    except ValueError:
        return -1


def _earliest(
    segment: Segment, words: Sequence[str], low: int, high: int, counter: StepCounter | None
) -> int | None:
    """
    Earliest start in C{low..high} (inclusive) where C{segment} fits, else C{None}.

    Leapfrog search: each anchor in turn jumps C{start} to the next position where
    that anchor's word fits; no start skipped over can fit, because some anchor fails
    there.  It stops when every anchor agrees on one start.  A literal absent from
    the line fails after one scan, and a rare one moves C{start} in one jump.
    """
    anchors = segment.anchors
    if low > high or not anchors:
        return low if low <= high else None
    start = low
    agreed = 0
    turn = 0
    while agreed < len(anchors):
        offset, element = anchors[turn]
        if counter is not None:
            counter.steps += 1
        found = _find(element, words, start + offset, high + offset + 1)
        if found < 0:
            return None
        if found - offset == start:
            agreed += 1
        else:
            start = found - offset
            agreed = 1
        turn = (turn + 1) % len(anchors)
    return start


def _place(
    segments: tuple[Segment, ...], words: Sequence[str], counter: StepCounter | None
) -> list[int] | None:
    """
    Return the start position of every segment, or C{None} if they cannot be placed.
    """
    if not isinstance(words, (list, tuple)):
        words = list(words)
    total = len(words)
    head, tail = segments[0], segments[-1]
    if len(segments) == 1:
        ok = head.width == total and _fits(head, words, 0, counter)
        return [0] if ok else None
    tailStart = total - tail.width
    if tailStart < head.width or not _fits(head, words, 0, counter):
        return None
    starts = [0]
    position = head.width
    for segment in segments[1:-1]:
        found = _earliest(segment, words, position, tailStart - segment.width, counter)
        if found is None:
            return None
        starts.append(found)
        position = found + segment.width
    if tailStart < position or not _fits(tail, words, tailStart, counter):
        return None
    starts.append(tailStart)
    return starts


def _components(pattern: Pattern, starts: list[int], words: Sequence[str]) -> Components:
    """
    Slice C{words} into one component per pattern element given the segment starts.
    """
    result: list[tuple[str, ...]] = [()] * len(pattern.elements)
    for segment, start in zip(pattern.segments, starts, strict=True):
        for index, offset, element in segment.items:
            width = element if isinstance(element, int) else 1
            result[index] = tuple(words[start + offset : start + offset + width])
    for number, zeroIndex in enumerate(pattern.zeros):
        begin = starts[number] + pattern.segments[number].width
        end = starts[number + 1]
        result[zeroIndex] = tuple(words[begin:end])
    return tuple(result)
