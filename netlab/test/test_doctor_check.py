"""
C{python -m netlab.doctor.check}: replay, mismatch report, exit codes.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.check import main

SCRIPT = """(HI)
(MEMORY MY (0 YOUR 0 = A 3) (0 YOUR 0 = B 3) (0 YOUR 0 = C 3) (0 YOUR 0 = D 3))
(NONE ((0) (N1) (N2)))
(MY = YOUR 2 ((0 YOUR 0) (YOUR 3)))
(K ((0) (K1) (K2)))
"""


class CheckTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.folder = tempfile.mkdtemp()
        self.addCleanup(self._clean)
        self.script = self.write("s.script", SCRIPT)

    def _clean(self) -> None:
        for name in os.listdir(self.folder):
            os.remove(os.path.join(self.folder, name))
        os.rmdir(self.folder)

    def write(self, name: str, text: str | bytes) -> str:
        path = os.path.join(self.folder, name)
        with open(path, "wb") as handle:
            handle.write(text.encode() if isinstance(text, str) else text)
        return path

    def runCheck(self, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        status = main(list(args), out, err)
        return status, out.getvalue(), err.getvalue()

    def test_allMatch(self) -> None:
        conv = self.write("a.txt", "> k\nK1\n> k again\nK2\n> my dog\nYOUR DOG\n")
        status, out, err = self.runCheck(self.script, conv)
        self.assertEqual((status, err), (0, ""))
        self.assertEqual(out, "3 exchanges, 3 matched, 0 mismatched\n")

    def test_eachArgumentIsAFreshSession(self) -> None:
        conv = self.write("a.txt", "> k\nK1\n")
        status, out, _ = self.runCheck(self.script, conv, conv)
        self.assertEqual(status, 0)
        self.assertIn("2 exchanges, 2 matched", out)

    def test_plusJoinsFilesIntoOneSession(self) -> None:
        first = self.write("a.txt", "> k\nK1\n")
        second = self.write("b.txt", "> k\nK2\n")
        status, out, _ = self.runCheck(self.script, f"{first}+{second}")
        self.assertEqual(status, 0, out)
        status, out, _ = self.runCheck(self.script, first, second)
        self.assertEqual(status, 1)

    def test_mismatchReport(self) -> None:
        conv = self.write("a.txt", "> hello\nN1\n> k\nWRONG\nREPLY\n> x\nN2\n")
        status, out, _ = self.runCheck(self.script, conv)
        self.assertEqual(status, 1)
        self.assertIn(f"MISMATCH {conv}:3: exchange 2\n", out)
        self.assertIn("  input:    k\n", out)
        self.assertIn("  expected: WRONG REPLY\n", out)
        self.assertIn("  got:      K1\n", out)
        self.assertTrue(out.endswith("3 exchanges, 2 matched, 1 mismatched\n"))

    def test_badScript(self) -> None:
        bad = self.write("bad.script", "(HI)\n(K\n ((0) (=NOWHERE)))\n")
        conv = self.write("a.txt", "> k\nK1\n")
        status, out, err = self.runCheck(bad, conv)
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err.count("\n"), 1)
        self.assertIn(f"{bad}:", err)
        self.assertNotIn("Traceback", err)

    def test_badScriptLineNumber(self) -> None:
        bad = self.write("bad.script", SCRIPT + "(Z ((0 Z 0)\n (Z 9)))\n")
        conv = self.write("a.txt", "> k\nK1\n")
        status, _, err = self.runCheck(bad, conv)
        self.assertEqual(status, 2)
        self.assertIn(f"{bad}:7: reassembly number 9", err)

    def test_missingFiles(self) -> None:
        conv = self.write("a.txt", "> k\nK1\n")
        missing = os.path.join(self.folder, "nope")
        status, _, err = self.runCheck(missing, conv)
        self.assertEqual(status, 2)
        self.assertEqual(err, f"check: cannot read script {missing}: No such file or directory\n")
        status, _, err = self.runCheck(self.script, missing)
        self.assertEqual(status, 2)
        self.assertIn(f"cannot read conversation {missing}", err)

    def test_malformedConversation(self) -> None:
        conv = self.write("a.txt", "no input marker\n> k\nK1\n")
        status, _, err = self.runCheck(self.script, conv)
        self.assertEqual(status, 2)
        self.assertIn(f"{conv}:1: expected a '> ' input line", err)
        empty = self.write("e.txt", "")
        self.assertEqual(self.runCheck(self.script, empty)[0], 2)

    def test_commandLine(self) -> None:
        conv = self.write("a.txt", "> k\nK1\n")
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        done = subprocess.run(
            [sys.executable, "-m", "netlab.doctor.check", self.script, conv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        self.assertEqual(
            (done.returncode, done.stdout), (0, "1 exchanges, 1 matched, 0 mismatched\n")
        )
        done = subprocess.run(
            [sys.executable, "-m", "netlab.doctor.check", "--help"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        self.assertEqual(done.returncode, 0)
        self.assertIn("CONVERSATION", done.stdout)
        done = subprocess.run(
            [sys.executable, "-m", "netlab.doctor.check", os.path.join(self.folder, "x"), conv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stderr.count("\n"), 1)
