"""
The parts of the house style (CONTRIBUTING.md) that ruff cannot check: camelCase
names and Twisted's epytext docstrings, in C{netlab/} and, in a source
checkout, in C{tests/} and C{benchmarks/}.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import netlab

ROOT = Path(netlab.__file__).parent

#: Beside the package in a source checkout (not in an installed wheel): the
#: system tests and the benchmarks, held to the same style.  The lecture's own
#: programs in C{tests/course/} stay as the lecture wrote them.
CHECKOUT = [ROOT.parent / "tests", ROOT.parent / "benchmarks"]
LECTURE = {
    ROOT.parent / "tests" / "course" / f"{name}_client.py" for name in ("chat", "daytime", "doctor")
}

#: A name with an underscore between two lowercase letters or digits:
#: snake_case, where the house style wants camelCase.
SNAKE = re.compile(r"[a-z0-9]_[a-z0-9]")

#: Dispatch prefixes (C{command_nick} handles C{/nick}, C{entry_join} a log
#: entry of type C{join}) and test methods.
PREFIXES = ("test_", "command_", "entry_")

#: Names that other code chooses for us: keyword arguments and methods of
#: stdlib and Twisted APIs we implement or call.
FOREIGN = frozenset(
    {
        "formatter_class",  # argparse
        "connection_made",  # asyncio.Protocol (a benchmark baseline)
        "data_received",
        "connection_lost",
        "eof_received",
    }
)

#: reST markup, which is not the house's docstring format.
REST = re.compile(r"``|:param\b|:returns?:|:rtype:|:raises?\b|:(?:class|func|meth|mod|attr):`")


def sources(root: Path = ROOT) -> list[tuple[Path, ast.Module]]:
    """
    Every module under C{root}, parsed.
    """
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in root.rglob("*.py")]


def houseSources() -> list[tuple[Path, ast.Module]]:
    """
    Every module held to the house style: the package, and in a source
    checkout the system tests and benchmarks too (not the lecture's programs).
    """
    found = sources(ROOT)
    for root in CHECKOUT:
        if root.is_dir():
            found += [
                (path, tree)
                for path, tree in sources(root)
                if path not in LECTURE
            ]
    return found


def snakeNames(tree: ast.Module) -> list[str]:
    """
    The functions, methods and arguments in C{tree} named in snake_case.
    """
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [node.name]
            arguments = node.args
            every = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
            names += [argument.arg for argument in every]
            names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
            for name in names:
                if name.startswith("__") or name.startswith(PREFIXES) or name in FOREIGN:
                    continue
                if SNAKE.search(name):
                    found.append(f"{name} (line {node.lineno})")
    return found


def docstringProblems(tree: ast.Module) -> list[str]:
    """
    Docstrings in C{tree} that are not in the house format: reST markup, or
    the summary on the line of the opening quotes.
    """
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        docstring = ast.get_docstring(node, clean=False)
        if docstring is None:
            continue
        where = getattr(node, "lineno", 1)
        if REST.search(docstring):
            found.append(f"reST markup in the docstring at line {where}")
        if not docstring.startswith("\n"):
            found.append(f"summary on the opening line of the docstring at line {where}")
    return found


class StyleTests(SynchronousTestCase):
    """
    One house style in every module.
    """

    def test_camelCase(self) -> None:
        """
        Functions, methods and their arguments are camelCase.
        """
        problems = {
            str(path.relative_to(ROOT.parent)): names
            for path, tree in houseSources()
            if (names := snakeNames(tree))
        }
        self.assertEqual(problems, {})

    def test_epytext(self) -> None:
        """
        Docstrings are epytext, with the summary on the line after the quotes.
        """
        problems = {
            str(path.relative_to(ROOT.parent)): found
            for path, tree in houseSources()
            if (found := docstringProblems(tree))
        }
        self.assertEqual(problems, {})

    def test_checksSeeViolations(self) -> None:
        """
        The checks above find what they look for.
        """
        tree = ast.parse(
            'def read_line(max_len, *, keep_tabs=False):\n    """Read. :param x: y"""\n'
            "def test_a_b(self):\n    pass\n"
            "def command_nick(self, args):\n    pass\n"
        )
        self.assertEqual(
            snakeNames(tree), ["read_line (line 1)", "max_len (line 1)", "keep_tabs (line 1)"]
        )
        self.assertEqual(
            docstringProblems(tree),
            [
                "reST markup in the docstring at line 1",
                "summary on the opening line of the docstring at line 1",
            ],
        )
