"""
Tokens and S-expressions of the 1966 script notation (docs/ALGORITHM.md 2.1, "Lexical").

  - whitespace separates tokens; C{;} starts a comment to the end of the line;
  - C{(}, C{)} and C{=} are always tokens of their own;
  - a token made only of digits is a number;
  - anything else is a symbol, upper-cased, keeping attached punctuation.

Every token and list remembers its line so that errors can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class ScriptError(ValueError):
    """
    An invalid script.  The message names the line and what is wrong.

    @ivar line: the line of the script where the problem is (0 for the whole file).
    @ivar problem: what is wrong.
    @ivar source: the script's file name, or C{<script>}.
    """

    def __init__(self, line: int, problem: str, source: str = "<script>") -> None:
        super().__init__(f"{source}:{line}: {problem}")
        self.line = line
        self.problem = problem
        self.source = source


@dataclass(frozen=True)
class Atom:
    """
    A symbol or a number.

    @ivar text: the token, upper-cased.
    @ivar line: the line it is on.
    """

    text: str
    line: int

    @property
    def isNumber(self) -> bool:
        """
        Whether the token is a run of digits.
        """
        return self.text.isdigit() and self.text.isascii()


@dataclass(frozen=True)
class SList:
    """
    A parenthesised list.

    @ivar items: what the list holds.
    @ivar line: the line its C{(} is on.
    """

    items: tuple[Atom | SList, ...]
    line: int


Node = Atom | SList

_TOKEN = re.compile(r"[()=]|[^\s()=;]+")


def tokens(text: str) -> list[tuple[str, int]]:
    """
    Split script text into C{(token, line)} pairs, dropping comments.
    """
    result = []
    for number, line in enumerate(text.split("\n"), start=1):
        code = line.split(";", 1)[0]
        result.extend((token, number) for token in _TOKEN.findall(code))
    return result


def readNodes(text: str, source: str = "<script>") -> list[Node]:
    """
    Read the top-level S-expressions of C{text}.

    @raise ScriptError: if the parentheses are unbalanced.
    """
    stack: list[tuple[int, list[Node]]] = [(0, [])]
    for token, line in tokens(text):
        if token == "(":
            stack.append((line, []))
        elif token == ")":
            if len(stack) == 1:
                raise ScriptError(line, "unexpected ')' with no matching '('", source)
            opened, items = stack.pop()
            stack[-1][1].append(SList(tuple(items), opened))
        else:
            stack[-1][1].append(Atom(token.upper(), line))
    if len(stack) > 1:
        raise ScriptError(stack[-1][0], "'(' is never closed", source)
    return stack[0][1]


def describe(node: Node) -> str:
    """
    Short printable form of a node for error messages.
    """
    if isinstance(node, Atom):
        return node.text
    inner = " ".join(describe(item) for item in node.items[:6])
    more = " ..." if len(node.items) > 6 else ""
    return f"({inner}{more})"
