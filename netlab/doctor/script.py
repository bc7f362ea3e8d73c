"""
Read and validate a script in the 1966 notation (docs/ALGORITHM.md 2.1).

L{parseScript} turns text into an immutable L{netlab.doctor.model.Script} or
raises L{ScriptError} naming the line and the problem.  It performs every check
of Hay's reader listed in docs/ALGORITHM.md 2.1, and also refuses an empty
file, non-text data, unbalanced parentheses, stray tokens and unknown word
classes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from types import MappingProxyType

from netlab.doctor.lexer import Atom, Node, ScriptError, SList, describe, readNodes
from netlab.doctor.matcher import Element, Pattern
from netlab.doctor.model import (
    Action,
    Decomposition,
    Entry,
    Link,
    MemoryRule,
    NewKey,
    Plain,
    Pre,
    Script,
    Template,
)

__all__ = ["ScriptError", "parseScript", "loadScript", "decodeScript"]

_CONTROL_OK = frozenset("\t\n\r\f\v")


def decodeScript(data: bytes | str, source: str = "<script>") -> str:
    """
    Return the script as text.

    @param source: the script's file name, for error messages.
    @raise ScriptError: if the script holds NUL bytes, control characters or
        bad UTF-8.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ScriptError(line, "not a text file (invalid UTF-8)", source) from None
    else:
        text = data
    for index, char in enumerate(text):
        if (char < " " and char not in _CONTROL_OK) or char == "\x7f":
            line = text.count("\n", 0, index) + 1
            raise ScriptError(line, f"not a text file (control character {char!r})", source)
    return text


#: The largest script file read (the 1966 DOCTOR script is about 10 KB).
MAX_SCRIPT_BYTES = 1 << 20


def loadScript(path: str | os.PathLike[str]) -> Script:
    """
    Read and parse the script file at C{path}.

    Only a regular file of at most L{MAX_SCRIPT_BYTES} is read, so that a
    device (C{/dev/zero}) or a FIFO cannot hang or exhaust the daemon at start-up.

    @raise OSError: if the file cannot be read.
    @raise ScriptError: if the file is not a regular file, is too large or
        holds an invalid script.
    """
    source = os.fspath(path)
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer.
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb", buffering=0) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ScriptError(0, "not a regular file", source)
        data = handle.read(MAX_SCRIPT_BYTES + 1)
    if len(data) > MAX_SCRIPT_BYTES:
        raise ScriptError(0, f"larger than {MAX_SCRIPT_BYTES} bytes", source)
    return parseScript(data, source=source)


def parseScript(text: str | bytes, source: str = "<script>") -> Script:
    """
    Parse and validate a whole script.

    @param text: the script, as text or as UTF-8 bytes.
    @param source: the script's file name, for error messages.
    @raise ScriptError: if the script is invalid.
    """
    text = decodeScript(text, source)
    nodes = readNodes(text, source)
    if not nodes:
        raise ScriptError(1, "the script is empty", source)
    return _Reader(source, text.count("\n") + 1).read(nodes)


class _Reader:
    """
    One parse: collects entries, rotation slots and links to check at the end.

    @ivar source: the script's file name, for error messages.
    @ivar lastLine: the script's last line, where whole-script problems are reported.
    @ivar entries: the ordinary entries read so far, by word.
    @ivar classes: the words of each word class (C{DLIST}), by tag.
    @ivar links: every link target with the line it is on, checked at the end.
    @ivar slots: the rotation slots handed out so far.
    @ivar memory: the MEMORY rule, once read.
    @ivar none: the NONE rule's decompositions, once read.
    """

    def __init__(self, source: str, lastLine: int) -> None:
        self.source = source
        self.lastLine = lastLine
        self.entries: dict[str, Entry] = {}
        self.classes: dict[str, set[str]] = {}
        self.links: list[tuple[str, int]] = []
        self.slots = 0
        self.memory: MemoryRule | None = None
        self.none: tuple[Decomposition, ...] | None = None

    def fail(self, line: int, problem: str) -> ScriptError:
        """
        Build the error to raise for C{problem} at C{line}.
        """
        return ScriptError(line, problem, self.source)

    # -- top level ---------------------------------------------------------------

    def read(self, nodes: list[Node]) -> Script:
        """
        Read greeting, optional START and rule lists, then cross-check the whole.
        """
        greeting = self.greeting(nodes[0])
        rest = nodes[1:]
        if rest and isinstance(rest[0], Atom) and rest[0].text == "START":
            rest = rest[1:]
        rules = [self.ruleList(node) for node in rest]
        rules = [rule for rule in rules if rule.items]
        self.collectClasses(rules)
        for rule in rules:
            self.rule(rule)
        return self.finish(greeting)

    def greeting(self, node: Node) -> tuple[str, ...]:
        """
        The first list: greeting words, printed joined by spaces.
        """
        if not isinstance(node, SList):
            raise self.fail(node.line, f"expected the greeting list first, found {node.text}")
        if not node.items:
            raise self.fail(node.line, "the greeting list is empty")
        for item in node.items:
            if not isinstance(item, Atom) or item.text == "=":
                raise self.fail(item.line, f"unexpected {describe(item)} in the greeting")
        return tuple(item.text for item in node.items)

    def ruleList(self, node: Node) -> SList:
        """
        A top-level rule must be a list starting with a word (C{()} is the end marker).
        """
        if isinstance(node, Atom):
            raise self.fail(node.line, f"unexpected {node.text} outside a rule list")
        if node.items:
            head = node.items[0]
            if not isinstance(head, Atom) or head.isNumber or head.text == "=":
                raise self.fail(node.line, f"a rule must start with a keyword: {describe(node)}")
        return node

    def collectClasses(self, rules: Iterable[SList]) -> None:
        """
        First pass: gather every C{DLIST(/TAG ...)} so patterns can name any class.
        """
        for rule in rules:
            items = rule.items
            for index, item in enumerate(items[:-1]):
                following = items[index + 1]
                if isinstance(item, Atom) and item.text == "DLIST" and isinstance(following, SList):
                    for tag in self.tags(following):
                        self.classes.setdefault(tag, set()).add(items[0].text)

    def rule(self, rule: SList) -> None:
        """
        Dispatch one rule list to MEMORY, NONE or an ordinary entry.
        """
        word = rule.items[0].text
        if word == "MEMORY":
            self.memoryRule(rule)
        elif word == "NONE":
            self.noneRule(rule)
        else:
            self.entry(rule)

    def finish(self, greeting: tuple[str, ...]) -> Script:
        """
        Check what needs the whole script: NONE, MEMORY and every link target.
        """
        if self.none is None:
            raise self.fail(self.lastLine, "the script has no NONE rule")
        if self.memory is None:
            raise self.fail(self.lastLine, "the script has no MEMORY rule")
        key = self.entries.get(self.memory.keyword)
        if key is None or not key.isKeyword:
            raise self.fail(
                self.memory.line, f"MEMORY keyword {self.memory.keyword} is not a keyword"
            )
        for target, line in self.links:
            entry = self.entries.get(target)
            if entry is None:
                raise self.fail(line, f"link to unknown keyword {target}")
            if not entry.isKeyword:
                raise self.fail(line, f"link to {target}, which has no transformations or link")
        return Script(
            greeting=greeting,
            entries=MappingProxyType(dict(self.entries)),
            memory=self.memory,
            none=self.none,
            slots=self.slots,
            source=self.source,
        )

    # -- special rules -----------------------------------------------------------

    def memoryRule(self, rule: SList) -> None:
        """
        C{(MEMORY KEY (pattern = reassembly) x4)}.
        """
        if self.memory is not None:
            raise self.fail(rule.line, f"second MEMORY rule (first at line {self.memory.line})")
        items = rule.items[1:]
        if not items or not isinstance(items[0], Atom) or items[0].isNumber:
            raise self.fail(rule.line, "MEMORY must name its keyword first")
        entries = tuple(self.memoryEntry(item) for item in items[1:])
        if len(entries) != 4:
            raise self.fail(
                rule.line,
                f"MEMORY needs exactly 4 'pattern = reassembly' entries, not {len(entries)}",
            )
        self.memory = MemoryRule(items[0].text, entries, rule.line)

    def memoryEntry(self, node: Node) -> tuple[Pattern, Template]:
        """
        One C{(pattern = reassembly)} entry of the MEMORY rule.
        """
        if not isinstance(node, SList):
            raise self.fail(node.line, f"MEMORY entry must be a list, found {node.text}")
        equals = [
            i for i, item in enumerate(node.items) if isinstance(item, Atom) and item.text == "="
        ]
        if len(equals) != 1:
            raise self.fail(node.line, f"MEMORY entry needs one '=': {describe(node)}")
        split = equals[0]
        pattern = self.pattern(SList(node.items[:split], node.line))
        template = self.template(node.items[split + 1 :], len(pattern.elements), node.line)
        return pattern, template

    def noneRule(self, rule: SList) -> None:
        """
        C{(NONE ((0) remark ...))}: content-free remarks, plain reassemblies only.
        """
        if self.none is not None:
            raise self.fail(rule.line, "second NONE rule")
        body = rule.items[1:]
        if not body:
            raise self.fail(rule.line, "NONE has an empty body")
        decompositions = []
        for item in body:
            if not (isinstance(item, SList) and item.items and isinstance(item.items[0], SList)):
                raise self.fail(item.line, f"NONE takes only transformations: {describe(item)}")
            decomposition = self.decomposition(item)
            if not all(isinstance(action, Plain) for action in decomposition.actions):
                raise self.fail(item.line, "NONE remarks must be plain reassemblies (no links)")
            decompositions.append(decomposition)
        self.none = tuple(decompositions)

    # -- ordinary entries ----------------------------------------------------------

    def entry(self, rule: SList) -> None:
        """
        C{(KEY [= SUBST] [DLIST(/TAGS)] [precedence] [transformations] [(=LINK)])}.
        """
        word = rule.items[0].text
        if word in self.entries:
            first = self.entries[word].line
            raise self.fail(rule.line, f"duplicate keyword {word} (first at line {first})")
        body = rule.items[1:]
        if not body:
            raise self.fail(rule.line, f"keyword {word} has an empty body")
        fields: dict[str, object] = {}
        decompositions: list[Decomposition] = []
        index = 0
        while index < len(body):
            index = self.entryItem(word, body, index, fields, decompositions)
        if "precedence" in fields and not decompositions and "link" not in fields:
            raise self.fail(
                rule.line, f"keyword {word} has a precedence but no transformations or link"
            )
        self.entries[word] = Entry(
            word=word, line=rule.line, decompositions=tuple(decompositions), **fields
        )

    def entryItem(
        self, word: str, body: tuple[Node, ...], index: int, fields: dict, found: list
    ) -> int:
        """
        Read the body item at C{index} into C{fields} or C{found}.

        @return: the index of the next body item.
        """
        item = body[index]
        following = body[index + 1] if index + 1 < len(body) else None
        if isinstance(item, Atom):
            if item.text == "=":
                if not isinstance(following, Atom) or following.isNumber or following.text == "=":
                    raise self.fail(item.line, f"'=' in {word} must be followed by a word")
                self.setOnce(fields, "substitute", following.text, item.line)
                return index + 2
            if item.text == "DLIST":
                if not isinstance(following, SList):
                    raise self.fail(item.line, f"DLIST in {word} must be followed by (/TAG ...)")
                self.setOnce(fields, "tags", self.tags(following), item.line)
                return index + 2
            if item.isNumber:
                self.setOnce(fields, "precedence", int(item.text), item.line)
                return index + 1
            raise self.fail(item.line, f"unexpected {item.text} in keyword {word}")
        if item.items and isinstance(item.items[0], Atom) and item.items[0].text == "=":
            self.setOnce(fields, "link", self.linkTarget(item), item.line)
            return index + 1
        if item.items and isinstance(item.items[0], SList):
            found.append(self.decomposition(item))
            return index + 1
        raise self.fail(
            item.line, f"expected ((pattern) reassembly ...) or (=KEY) in {word}: {describe(item)}"
        )

    def setOnce(self, fields: dict, name: str, value: object, line: int) -> None:
        """
        Store a field of an entry, refusing to set it twice.
        """
        if name in fields:
            raise self.fail(line, f"{name} given twice")
        fields[name] = value

    def tags(self, node: SList) -> tuple[str, ...]:
        """
        C{(/TAG1 TAG2)} or C{(/ TAG1 TAG2)} -> C{("TAG1", "TAG2")}.
        """
        words = self.wordsOf(node, "/")
        if words is None:
            raise self.fail(node.line, f"expected (/TAG ...), found {describe(node)}")
        return words

    def wordsOf(self, node: SList, mark: str) -> tuple[str, ...] | None:
        """
        Words of a C{(*...)}/C{(/...)} list, or C{None} if it does not start with C{mark}.
        """
        texts = []
        for item in node.items:
            if not isinstance(item, Atom) or item.text == "=":
                raise self.fail(item.line, f"unexpected {describe(item)} in {describe(node)}")
            texts.append(item.text)
        if not texts or not texts[0].startswith(mark):
            return None
        texts[0] = texts[0][len(mark) :]
        words = tuple(text for text in texts if text)
        if not words:
            raise self.fail(node.line, f"empty word list {describe(node)}")
        return words

    def linkTarget(self, node: SList) -> str:
        """
        C{(=KEY)} -> C{"KEY"}; the target is checked once the whole script is read.
        """
        items = node.items
        if len(items) != 2 or not isinstance(items[1], Atom) or items[1].isNumber:
            raise self.fail(node.line, f"malformed link {describe(node)}, expected (=KEY)")
        self.links.append((items[1].text, node.line))
        return items[1].text

    # -- transformations ----------------------------------------------------------

    def decomposition(self, node: SList) -> Decomposition:
        """
        C{((pattern) reassembly ...)} with its own rotation slot.
        """
        pattern = self.pattern(node.items[0])
        if len(node.items) < 2:
            raise self.fail(node.line, f"decomposition {describe(node.items[0])} has no reassembly")
        actions = tuple(self.action(item, len(pattern.elements)) for item in node.items[1:])
        slot = self.slots
        self.slots += 1
        return Decomposition(pattern, actions, slot, node.line)

    def pattern(self, node: SList) -> Pattern:
        """
        Compile a decomposition pattern; refuse an empty one.
        """
        if not node.items:
            raise self.fail(node.line, "empty decomposition pattern")
        return Pattern.compile(tuple(self.element(item) for item in node.items))

    def element(self, item: Node) -> Element:
        """
        One pattern element: word, number, C{(*A B)} or C{(/TAG)}.
        """
        if isinstance(item, Atom):
            if item.text == "=":
                raise self.fail(item.line, "unexpected '=' in a decomposition pattern")
            return int(item.text) if item.isNumber else item.text
        choices = self.wordsOf(item, "*")
        if choices is not None:
            return frozenset(choices)
        tags = self.wordsOf(item, "/")
        if tags is None:
            raise self.fail(item.line, f"expected (*WORDS) or (/TAGS) in pattern: {describe(item)}")
        members: set[str] = set()
        for tag in tags:
            if tag not in self.classes:
                raise self.fail(item.line, f"unknown word class /{tag}")
            members |= self.classes[tag]
        return frozenset(members)

    def action(self, node: Node, size: int) -> Action:
        """
        One reassembly: plain words, C{(=KEY)}, C{(NEWKEY)} or C{(PRE (...) (=KEY))}.
        """
        if not isinstance(node, SList):
            raise self.fail(node.line, f"a reassembly must be a list, found {node.text}")
        items = node.items
        head = items[0] if items else None
        if isinstance(head, Atom) and head.text == "=":
            return Link(self.linkTarget(node))
        if isinstance(head, Atom) and head.text == "NEWKEY" and len(items) == 1:
            return NewKey()
        if isinstance(head, Atom) and head.text == "PRE":
            return self.pre(node, size)
        return Plain(self.template(items, size, node.line))

    def pre(self, node: SList, size: int) -> Pre:
        """
        C{(PRE (reassembly) (=KEY))}.
        """
        items = node.items
        ok = (
            len(items) == 3
            and isinstance(items[1], SList)
            and isinstance(items[2], SList)
            and items[2].items
            and isinstance(items[2].items[0], Atom)
            and items[2].items[0].text == "="
        )
        if not ok:
            raise self.fail(
                node.line, f"malformed PRE {describe(node)}, expected (PRE (...) (=KEY))"
            )
        template = self.template(items[1].items, size, items[1].line)
        return Pre(template, self.linkTarget(items[2]))

    def template(self, items: Iterable[Node], size: int, line: int) -> Template:
        """
        Reassembly words; numbers must name a pattern element (1..size).
        """
        result: list[str | int] = []
        for item in items:
            if not isinstance(item, Atom) or item.text == "=":
                raise self.fail(
                    getattr(item, "line", line), f"unexpected {describe(item)} in a reassembly"
                )
            if item.isNumber:
                number = int(item.text)
                if not 1 <= number <= size:
                    raise self.fail(
                        item.line,
                        f"reassembly number {number} is out of range (pattern has {size} elements)",
                    )
                result.append(number)
            else:
                result.append(item.text)
        return tuple(result)
