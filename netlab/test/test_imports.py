"""
No import cycles anywhere in C{netlab/}: every C{import} and C{from ... import}
statement -- at module level or inside a function, where a cycle likes to
hide -- is an edge of the graph, and the graph has no cycle.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import netlab

ROOT = Path(netlab.__file__).parent


def moduleName(path: Path, root: Path = ROOT) -> str:
    """
    The dotted name of the module in C{path} (a file under the package C{root}).
    """
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def importGraph(root: Path = ROOT) -> dict[str, set[str]]:
    """
    Module -> the netlab modules it imports, for every module under C{root}.
    C{from a import b} counts as importing C{a.b} when that is a module, else
    C{a}.
    """
    sources = {moduleName(path, root): path for path in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        targets = set()
        isPackage = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name if isPackage else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}".rstrip(".")
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in sources else base)
        graph[name] = {target for target in targets if target in sources and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """
    The strongly connected components of C{graph} with more than one module
    (each one contains a cycle), by Tarjan's algorithm.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    onStack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        onStack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in onStack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                onStack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


class ImportCycleTests(SynchronousTestCase):
    """
    The package imports in one direction only.
    """

    def test_noCycles(self) -> None:
        """
        No module of netlab imports, directly or through others, a module
        that imports it.
        """
        graph = importGraph()
        self.assertIn("netlab.chat.room", graph)
        self.assertIn("netlab.framing", graph["netlab.chat.output"])
        self.assertEqual(cycles(graph), [])

    def test_cyclesFound(self) -> None:
        """
        The check sees a cycle, however long, and only cycles.
        """
        graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
        self.assertEqual(cycles(graph), [["a", "b", "c"]])
        self.assertEqual(cycles({"a": {"b"}, "b": set()}), [])

    def test_functionLevelImportsCount(self) -> None:
        """
        An import inside a function is an edge too (that is where a cycle
        hides), and so is a relative one.
        """
        top = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, top)
        root = top / "netlab"
        (root / "sub").mkdir(parents=True)
        (root / "__init__.py").write_text("")
        (root / "sub" / "__init__.py").write_text("")
        (root / "one.py").write_text("from netlab import two\n")
        (root / "two.py").write_text("def f():\n    from netlab.sub import three\n")
        (root / "sub" / "three.py").write_text("from .. import one\n")
        graph = importGraph(root)
        self.assertEqual(graph["netlab.two"], {"netlab.sub.three"})
        self.assertEqual(graph["netlab.sub.three"], {"netlab.one"})
        self.assertEqual(cycles(graph), [["netlab.one", "netlab.sub.three", "netlab.two"]])


class EngineImportTests(SynchronousTestCase):
    """
    The Doctor's engine stands on its own.
    """

    def test_noTwisted(self) -> None:
        """
        Importing L{netlab.doctor} loads no Twisted module.
        """
        code = (
            "import sys, netlab.doctor; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'twisted'))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        self.assertEqual(result.stdout.strip(), "[]")
