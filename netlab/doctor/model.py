"""
The parsed, immutable form of an ELIZA script.

One L{Script} is read once and shared by every conversation; nothing here
changes after parsing.  Per-conversation state (LIMIT, the memory queue and the
rotation positions) lives in L{netlab.doctor.engine}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from netlab.doctor.matcher import Pattern
from netlab.doctor.text import DELIMITERS

#: A reassembly template: words copied as written and 1-based component numbers.
Template = tuple[str | int, ...]


@dataclass(frozen=True)
class Plain:
    """
    A reassembly that builds the reply from words and components.

    @ivar template: the words and component numbers of the reply.
    """

    template: Template


@dataclass(frozen=True)
class Link:
    """
    C{(=KEY)}: carry on with KEY's rules on the same text.

    @ivar target: KEY.
    """

    target: str


@dataclass(frozen=True)
class NewKey:
    """
    C{(NEWKEY)}: give up on this keyword and try the next one on the keystack.
    """


@dataclass(frozen=True)
class Pre:
    """
    C{(PRE (template) (=KEY))}: rewrite the text with the template, then go to KEY.

    @ivar template: the rewritten text's words and component numbers.
    @ivar target: KEY.
    """

    template: Template
    target: str


Action = Plain | Link | NewKey | Pre


@dataclass(frozen=True)
class Decomposition:
    """
    A decomposition pattern with its reassemblies.

    @ivar pattern: the compiled pattern.
    @ivar actions: the reassemblies, used in rotation.
    @ivar slot: the index of this rule's rotation position in a session's
        state; every decomposition rule of the script has its own slot.
    @ivar line: the line of the script the rule is on.
    """

    pattern: Pattern
    actions: tuple[Action, ...]
    slot: int
    line: int


@dataclass(frozen=True)
class Entry:
    """
    One C{(WORD ...)} list: a keyword, a substitution, a word-class entry or several.

    @ivar word: WORD.
    @ivar line: the line of the script the list starts on.
    @ivar substitute: the word that replaces WORD in the user's text, if any.
    @ivar tags: the word classes (C{DLIST}) WORD belongs to.
    @ivar precedence: the keyword's precedence (0 if none is given).
    @ivar decompositions: the keyword's transformations, in script order.
    @ivar link: the keyword to go on with when no transformation matches, if any.
    """

    word: str
    line: int
    substitute: str | None = None
    tags: tuple[str, ...] = ()
    precedence: int = 0
    decompositions: tuple[Decomposition, ...] = ()
    link: str | None = None

    @property
    def isKeyword(self) -> bool:
        """
        Whether the word goes on the keystack: it has transformations or a link.
        """
        return bool(self.decompositions) or self.link is not None


@dataclass(frozen=True)
class MemoryRule:
    """
    C{(MEMORY KEY (pattern = reassembly) x4)}: how memories are laid down.

    @ivar keyword: KEY, whose processing lays a memory down.
    @ivar entries: the four patterns with their reassemblies.
    @ivar line: the line of the script the rule starts on.
    """

    keyword: str
    entries: tuple[tuple[Pattern, Template], ...]
    line: int


@dataclass(frozen=True)
class Lexicon:
    """
    The entries flattened into the tables the scan needs, built once per script.

    Plain tables let the scan run its searches in C (set membership, C{map})
    instead of a Python loop per word; the dicts are plain C{dict}s for speed
    (C{dict.get} through a C{MappingProxyType} costs twice as much) and are
    never changed.

    @ivar keywords: the words that go on the keystack (a delimiter never does,
        so none is included).
    @ivar precedence: the precedence of each keyword.
    @ivar substitutes: maps every word that has a substitution to it.
    """

    keywords: frozenset[str]
    precedence: dict[str, int]
    substitutes: dict[str, str]

    @classmethod
    def of(cls, entries: Mapping[str, Entry]) -> Lexicon:
        """
        Build the tables from a script's entries.
        """
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
        """
        C{words} with each one that has a substitution replaced by it.
        """
        return list(map(self.substitutes.get, words, words))


@dataclass(frozen=True, eq=False)
class Script:
    """
    A complete parsed script.

    @ivar greeting: the words of the greeting.
    @ivar entries: maps each word to its L{Entry} (a read-only mapping).
    @ivar memory: the MEMORY rule.
    @ivar none: the NONE rule's decompositions, kept apart so that a user who
        types "NONE" does not trigger it.
    @ivar slots: the number of rotation positions a session needs.
    @ivar source: the script's file name, or C{<script>}.
    @ivar lexicon: the entries as tables for the scan.
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
        """
        The words that go on the keystack, in script order.
        """
        return tuple(word for word, entry in self.entries.items() if entry.isKeyword)

    def greetingText(self) -> str:
        """
        The greeting list joined with single spaces, as 1966 ELIZA printed it.
        """
        return " ".join(self.greeting)
