"""The parsed, immutable form of an ELIZA script.

One :class:`Script` is read once and shared by every conversation; nothing here
changes after parsing.  Per-conversation state (LIMIT, the memory queue and the
rotation positions) lives in :mod:`netlab.doctor.engine`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from netlab.doctor.matcher import Pattern
from netlab.doctor.text import DELIMITERS

# A reassembly template: words copied as written and 1-based component numbers.
Template = tuple[str | int, ...]


@dataclass(frozen=True)
class Plain:
    """A reassembly that builds the reply from words and components."""

    template: Template


@dataclass(frozen=True)
class Link:
    """``(=KEY)``: carry on with KEY's rules on the same text."""

    target: str


@dataclass(frozen=True)
class NewKey:
    """``(NEWKEY)``: give up on this keyword and try the next one on the keystack."""


@dataclass(frozen=True)
class Pre:
    """``(PRE (template) (=KEY))``: rewrite the text with the template, then go to KEY."""

    template: Template
    target: str


Action = Plain | Link | NewKey | Pre


@dataclass(frozen=True)
class Decomposition:
    """A decomposition pattern with its reassemblies.

    ``slot`` is the index of this rule's rotation position in a session's state;
    every decomposition rule of the script has its own slot.
    """

    pattern: Pattern
    actions: tuple[Action, ...]
    slot: int
    line: int


@dataclass(frozen=True)
class Entry:
    """One ``(WORD ...)`` list: a keyword, a substitution, a word-class entry or several."""

    word: str
    line: int
    substitute: str | None = None
    tags: tuple[str, ...] = ()
    precedence: int = 0
    decompositions: tuple[Decomposition, ...] = ()
    link: str | None = None

    @property
    def isKeyword(self) -> bool:
        """Whether the word goes on the keystack: it has transformations or a link."""
        return bool(self.decompositions) or self.link is not None


@dataclass(frozen=True)
class MemoryRule:
    """``(MEMORY KEY (pattern = reassembly) x4)``: how memories are laid down."""

    keyword: str
    entries: tuple[tuple[Pattern, Template], ...]
    line: int


@dataclass(frozen=True)
class Lexicon:
    """The entries flattened into the tables the scan needs, built once per script.

    ``keywords`` holds the words that go on the keystack (a delimiter never does, so
    none is included), ``precedence`` their precedences and ``substitutes`` maps
    every word that has a substitution to it.  Plain tables let the scan run its
    searches in C (set membership, ``map``) instead of a Python loop per word; the
    dicts are plain ``dict``s for speed (``dict.get`` through a ``MappingProxyType``
    costs twice as much) and are never changed.
    """

    keywords: frozenset[str]
    precedence: dict[str, int]
    substitutes: dict[str, str]

    @classmethod
    def of(cls, entries: Mapping[str, Entry]) -> Lexicon:
        """Build the tables from a script's entries."""
        keywords = frozenset(
            word for word, entry in entries.items() if entry.isKeyword and word not in DELIMITERS
        )
        precedence = {word: entries[word].precedence for word in keywords}
        substitutes = {
            word: entry.substitute
            for word, entry in entries.items()
            if entry.substitute is not None
        }
        return cls(keywords, precedence, substitutes)

    def substitute(self, words: Sequence[str]) -> list[str]:
        """``words`` with each one that has a substitution replaced by it."""
        return list(map(self.substitutes.get, words, words))


@dataclass(frozen=True, eq=False)
class Script:
    """A complete parsed script.

    ``entries`` maps each word to its :class:`Entry` (read-only mapping).  ``none``
    holds the NONE rule's decompositions, kept apart so that a user who types
    "NONE" does not trigger it.  ``slots`` is the number of rotation positions a
    session needs.
    """

    greeting: tuple[str, ...]
    entries: Mapping[str, Entry]
    memory: MemoryRule
    none: tuple[Decomposition, ...]
    slots: int
    source: str = "<script>"
    lexicon: Lexicon = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lexicon", Lexicon.of(self.entries))

    @property
    def keywords(self) -> tuple[str, ...]:
        """The words that go on the keystack, in script order."""
        return tuple(word for word, entry in self.entries.items() if entry.isKeyword)

    def greetingText(self) -> str:
        """The greeting list joined with single spaces, as 1966 ELIZA printed it."""
        return " ".join(self.greeting)
