"""
One conversation with 1966 ELIZA: per-session state and the reply algorithm.

The parsed L{netlab.doctor.model.Script} is shared and immutable; a L{Session}
holds what belongs to one conversation (docs/ALGORITHM.md 2.2): LIMIT, the
memory queue and the rotation position of every decomposition rule.
L{Session.respond} returns the raw upper-case 1966 reply.

Guards for a public server, beyond 1966 behaviour:

  - at most L{MAX_STEPS} keystack pops per reply, so that scripts whose links
    loop (C{(=A)} -> C{(=B)} -> C{(=A)}) or very long keyword-heavy lines
    finish; past the cap the reply is the built-in message for LIMIT;
  - at most L{MAX_MEMORIES} queued memories; further ones are not queued.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from netlab.doctor.hashing import slipHash
from netlab.doctor.matcher import Components
from netlab.doctor.model import (
    Decomposition,
    Lexicon,
    Link,
    NewKey,
    Plain,
    Pre,
    Script,
    Template,
)
from netlab.doctor.text import DELIMITERS, readLine

#: Keystack pops allowed per reply (each link, NEWKEY or PRE step costs one).
MAX_STEPS = 64

#: Longest memory queue a session keeps.
MAX_MEMORIES = 64

#: Characters all of a session's queued memories may hold together (one memory
#: of a 4 KiB line is about that long); further ones are not queued, so a
#: connection costs at most this much however it talks.
MAX_MEMORY_CHARS = 16_384

#: Built-in messages for LIMIT 1..4, used when no decomposition of a keyword matches.
BUILT_IN = ("PLEASE CONTINUE", "HMMM", "GO ON , PLEASE", "I SEE")


@dataclass(frozen=True)
class Outcome:
    """
    A raw reply plus what the guards did, so the caller can log it.

    @ivar raw: the 1966 reply.
    @ivar truncated: whether the input was cut to the length cap.
    @ivar stepCapped: whether the step cap was hit, so that C{raw} is the
        built-in message.
    """

    raw: str
    truncated: bool = False
    stepCapped: bool = False


def scan(script: Script, words: Sequence[str]) -> tuple[list[str], deque[str]]:
    """
    Find the first clause with a keyword, substitute it and build the keystack.

    Implements docs/ALGORITHM.md 2.4: delimiters, single-pass substitution and
    the "strictly higher precedence goes on top, the rest to the bottom" rule.
    Every search runs in C (set operations, C{filter}, C{list.index}), so the
    clauses skipped on a long line cost no Python step per word.

    @param script: the script whose keywords and substitutions apply.
    @param words: the user's line, as tokens.
    @return: the working word list W and the keystack (top at the left).  W is
        the clause around the first keyword, or the last clause when there is
        none.
    """
    lexicon = script.lexicon
    keywords = lexicon.keywords
    if keywords.isdisjoint(words):
        clause = words[_clauseStart(words, len(words)) :]
        return lexicon.substitute(clause), deque()
    at = words.index(next(filter(keywords.__contains__, words)))
    clause = words[_clauseStart(words, at) : _clauseEnd(words, at)]
    return lexicon.substitute(clause), _keystack(lexicon, clause)


def _clauseEnd(words: Sequence[str], at: int) -> int:
    """
    The index of the first delimiter from C{at} on, or the length of C{words}.

    A set test over a copy of the tail rules out a delimiter fast; otherwise
    C{filter} finds the first one, stopping there.
    """
    tail = words[at:]
    if DELIMITERS.isdisjoint(tail):
        return len(words)
    return at + tail.index(next(filter(DELIMITERS.__contains__, tail)))


def _clauseStart(words: Sequence[str], at: int) -> int:
    """
    The index just after the last delimiter before C{at}, or 0 if there is none.
    """
    if not at:
        return 0
    before = words[at - 1 :: -1]
    if DELIMITERS.isdisjoint(before):
        return 0
    return at - before.index(next(filter(DELIMITERS.__contains__, before)))


def _keystack(lexicon: Lexicon, clause: Sequence[str]) -> deque[str]:
    """
    The keystack of a clause: its keywords in order, the rest at the bottom.

    A keyword of strictly higher precedence than every one before it goes on top
    instead (the latest on top).  Only the first occurrence of a word can be such
    a keyword, so the distinct keywords are walked in order of first occurrence.
    """
    found = list(filter(lexicon.keywords.__contains__, clause))
    tops: list[str] = []
    top = 0
    for word in sorted(set(found), key=found.index):
        if lexicon.precedence[word] > top:
            tops.append(word)
            top = lexicon.precedence[word]
    for word in tops:
        found.remove(word)
    stack = deque(found)
    stack.extendleft(tops)
    return stack


def assemble(template: Template, components: Components) -> list[str]:
    """
    Build a reassembly: words as written, numbers replaced by their component's words.
    """
    result: list[str] = []
    for item in template:
        if isinstance(item, int):
            result.extend(components[item - 1])
        else:
            result.append(item)
    return result


class Session:
    """
    The state of one conversation over a shared script.

    @ivar script: the shared, parsed script.
    @ivar limit: LIMIT, 1 to 4, stepped on every line.
    @ivar memories: the queued memories, oldest first.
    @ivar memoryChars: the characters C{memories} hold together.
    @ivar positions: the rotation position of every decomposition rule, by slot.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.limit = 1
        self.memories: deque[str] = deque()
        self.memoryChars = 0
        self.positions = [0] * script.slots

    def respond(self, text: str) -> Outcome:
        """
        Read one line of user input and return ELIZA's raw reply.
        """
        words, truncated = readLine(text)
        self.limit = self.limit % 4 + 1
        clause, stack = scan(self.script, words)
        if not stack:
            if self.limit == 4 and self.memories:
                memory = self.memories.popleft()
                self.memoryChars -= len(memory)
                return Outcome(memory, truncated)
            return Outcome(self.none(clause), truncated)
        raw, capped = self.process(clause, stack)
        return Outcome(raw, truncated, capped)

    def builtIn(self) -> str:
        """
        The built-in message for the current LIMIT.
        """
        return BUILT_IN[self.limit - 1]

    def process(self, clause: list[str], stack: deque[str]) -> tuple[str, bool]:
        """
        Work through the keystack (docs/ALGORITHM.md 2.6).

        @return: the reply, and whether the step cap was hit.
        """
        entries = self.script.entries
        memoryKey = self.script.memory.keyword
        matches: dict[int, Components | None] = {}  # by rule slot, valid while W is unchanged
        for _step in range(MAX_STEPS):
            if not stack:
                return self.none(clause), False
            key = stack.popleft()
            entry = entries.get(key)
            if entry is None or not entry.isKeyword:
                return self.builtIn(), False
            if key == memoryKey:
                self.remember(clause)
            found = self.decompose(entry.decompositions, clause, matches)
            if found is None:
                if entry.link is None:
                    return self.builtIn(), False
                stack.appendleft(entry.link)
                continue
            rule, components = found
            action = self.take(rule)
            if isinstance(action, Plain):
                return " ".join(assemble(action.template, components)), False
            if isinstance(action, Pre):
                clause = assemble(action.template, components)
                matches = {}
            if isinstance(action, (Link, Pre)):
                stack.appendleft(action.target)
        return self.builtIn(), True

    def decompose(
        self,
        rules: Sequence[Decomposition],
        clause: list[str],
        matches: dict[int, Components | None] | None = None,
    ) -> tuple[Decomposition, Components] | None:
        """
        The first decomposition rule, in script order, whose pattern matches W.

        @param matches: results memoised by rule slot for one W, so that a
            keyword popped again (NEWKEY chains, repeated words) does not
            rescan a long line.
        @return: the rule and the components it matched, or C{None}.
        """
        for rule in rules:
            if matches is None:
                components = rule.pattern.match(clause)
            elif rule.slot in matches:
                components = matches[rule.slot]
            else:
                components = matches[rule.slot] = rule.pattern.match(clause)
            if components is not None:
                return rule, components
        return None

    def take(self, rule: Decomposition) -> Plain | Link | NewKey | Pre:
        """
        The rule's reassembly at its rotation position; the position then advances.
        """
        position = self.positions[rule.slot]
        self.positions[rule.slot] = (position + 1) % len(rule.actions)
        return rule.actions[position]

    def none(self, clause: list[str]) -> str:
        """
        The next content-free remark of the NONE rule (docs/ALGORITHM.md 2.9).
        """
        found = self.decompose(self.script.none, clause)
        if found is None:
            return self.builtIn()
        rule, components = found
        action = self.take(rule)
        if not isinstance(action, Plain):  # the reader allows only plain NONE remarks
            return self.builtIn()
        return " ".join(assemble(action.template, components))

    def remember(self, clause: list[str]) -> None:
        """
        Lay down a memory from W, choosing the entry by SLIP HASH of its last word.
        """
        entries = self.script.memory.entries
        last = clause[-1] if clause else ""
        pattern, template = entries[slipHash(last, 2) % len(entries)]
        components = pattern.match(clause)
        if components is not None and len(self.memories) < MAX_MEMORIES:
            memory = " ".join(assemble(template, components))
            if self.memoryChars + len(memory) <= MAX_MEMORY_CHARS:
                self.memories.append(memory)
                self.memoryChars += len(memory)
