"""
The script reader: every legal rule shape, and every refusal with its line number.
"""

from __future__ import annotations

import os
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import ScriptError, loadScript, parseScript
from netlab.doctor.model import Link, NewKey, Plain, Pre

TRAILER = """
(MEMORY MY
    (0 YOUR 0 = A 3)
    (0 YOUR 0 = B 3)
    (0 YOUR 0 = C 3)
    (0 YOUR 0 = D 3))
(NONE ((0) (PLEASE GO ON)))
(MY = YOUR 2 ((0 YOUR 0) (YOUR 3)))
"""


def script(body: str, greeting: str = "(HI THERE)\nSTART\n") -> str:
    """
    A complete script: greeting, C{body} and the MEMORY/NONE/MY trailer.
    """
    return greeting + body + TRAILER


class LegalShapeTests(SynchronousTestCase):
    """
    Everything docs/ALGORITHM.md 2.1 says a loader must accept.
    """

    def test_greetingJoinedWithSingleSpaces(self) -> None:
        parsed = parseScript(script("", "(HOW DO YOU DO.   PLEASE  TELL ME)\n"))
        self.assertEqual(parsed.greetingText(), "HOW DO YOU DO. PLEASE TELL ME")

    def test_startIsOptionalAndEndMarkerIgnored(self) -> None:
        parsed = parseScript("(HI)\n" + TRAILER + "\n()\n")
        self.assertEqual(parsed.keywords, ("MY",))

    def test_commentsAndCase(self) -> None:
        parsed = parseScript(script("(sorry ; a comment (with brackets\n ((0) (never mind)))\n"))
        rule = parsed.entries["SORRY"].decompositions[0]
        self.assertEqual(rule.actions, (Plain(("NEVER", "MIND")),))

    def test_equalsIsAlwaysItsOwnToken(self) -> None:
        parsed = parseScript(script("(K13= X)\n(EVERYONE ((0) (ALL)))\n(NOBODY 2 (= EVERYONE))\n"))
        self.assertEqual(parsed.entries["K13"].substitute, "X")
        self.assertEqual(parsed.entries["NOBODY"].link, "EVERYONE")
        self.assertEqual(parsed.entries["NOBODY"].precedence, 2)

    def test_substitutionAndClassEntriesAreNotKeywords(self) -> None:
        parsed = parseScript(script("(ME = YOU)\n(MOM = MOTHER DLIST(/ FAMILY))\n"))
        self.assertFalse(parsed.entries["ME"].isKeyword)
        self.assertEqual(parsed.entries["MOM"].tags, ("FAMILY",))
        self.assertEqual(parsed.keywords, ("MY",))

    def test_wordSetsAndClassesInPatterns(self) -> None:
        parsed = parseScript(
            script(
                "(MOTHER DLIST(/NOUN FAMILY))\n(DAD = FATHER DLIST(/FAMILY))\n"
                "(K ((0 (*A B) (* C) (/FAMILY) (/ NOUN) 2) (R 1 6)))\n"
            )
        )
        elements = parsed.entries["K"].decompositions[0].pattern.elements
        self.assertEqual(
            elements,
            (
                0,
                frozenset({"A", "B"}),
                frozenset({"C"}),
                frozenset({"MOTHER", "DAD"}),
                frozenset({"MOTHER"}),
                2,
            ),
        )

    def test_symbolsKeepAttachedPunctuation(self) -> None:
        parsed = parseScript(script("(K ((0) (REALLY, 'AM' DON'T - ' 1 ')))\n"))
        template = parsed.entries["K"].decompositions[0].actions[0].template
        self.assertEqual(template, ("REALLY,", "'AM'", "DON'T", "-", "'", 1, "'"))

    def test_everyReassemblyKind(self) -> None:
        parsed = parseScript(
            script("(L ((0) (X)))\n(K 3 ((0 K 0) (A 3) (=L) (NEWKEY) (PRE (B 3) (=L))) (=L))\n")
        )
        entry = parsed.entries["K"]
        self.assertEqual(entry.precedence, 3)
        self.assertEqual(entry.link, "L")
        self.assertEqual(
            entry.decompositions[0].actions,
            (Plain(("A", 3)), Link("L"), NewKey(), Pre(("B", 3), "L")),
        )

    def test_linkOnlyKeyword(self) -> None:
        parsed = parseScript(script("(WHAT ((0) (WHY)))\n(HOW (=WHAT))\n"))
        self.assertTrue(parsed.entries["HOW"].isKeyword)
        self.assertIn("HOW", parsed.keywords)

    def test_noneIsStoredApart(self) -> None:
        parsed = parseScript(script(""))
        self.assertNotIn("NONE", parsed.entries)
        self.assertEqual(parsed.none[0].actions, (Plain(("PLEASE", "GO", "ON")),))

    def test_rotationSlotsAreDistinct(self) -> None:
        parsed = parseScript(script("(K ((0 A) (X)) ((0) (Y)))\n"))
        slots = [rule.slot for rule in parsed.entries["K"].decompositions]
        slots += [rule.slot for rule in parsed.none] + [parsed.entries["MY"].decompositions[0].slot]
        self.assertEqual(sorted(slots), list(range(parsed.slots)))

    def test_bytesAndFiles(self) -> None:
        text = script("(K ((0) (X)))\n")
        self.assertEqual(parseScript(text.encode()).keywords, ("K", "MY"))
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "s.script")
            with open(path, "w") as handle:
                handle.write(text)
            self.assertEqual(loadScript(path).source, path)

    def test_parsedScriptIsImmutable(self) -> None:
        parsed = parseScript(script("(K ((0) (X)))\n"))
        with self.assertRaises(TypeError):
            parsed.entries["NEW"] = parsed.entries["K"]  # type: ignore[index]
        with self.assertRaises(AttributeError):
            parsed.entries["K"].precedence = 9  # type: ignore[misc]


class RefusalTests(SynchronousTestCase):
    """
    Each invalid script is refused, naming the line and the problem.
    """

    def refuse(self, text: str | bytes, line: int, words: str) -> None:
        with self.assertRaises(ScriptError) as caught:
            parseScript(text, source="t.script")
        error = caught.exception
        self.assertEqual(error.line, line, str(error))
        self.assertIn(words, str(error))
        self.assertTrue(str(error).startswith(f"t.script:{line}: "), str(error))

    def test_emptyFile(self) -> None:
        self.refuse("", 1, "empty")
        self.refuse("; only a comment\n\n", 1, "empty")

    def test_notText(self) -> None:
        self.refuse(b"(HI)\n\x00\x01binary", 2, "not a text file")
        self.refuse(b"(HI)\n(\xff\xfe)", 2, "not a text file")

    def test_unbalancedParentheses(self) -> None:
        self.refuse("(HI)\n\n(K ((0) (X))\n", 3, "never closed")
        self.refuse("(HI)\n(K ((0) (X))))\n", 2, "unexpected ')'")

    def test_greetingMustComeFirst(self) -> None:
        self.refuse("START\n(HI)\n", 1, "greeting")
        self.refuse("()\n" + TRAILER, 1, "greeting list is empty")

    def test_strayAtom(self) -> None:
        self.refuse("(HI)\nSTART\nOOPS\n" + TRAILER, 3, "unexpected OOPS")

    def test_missingNone(self) -> None:
        text = "(HI)\n(MEMORY MY (0 = A) (0 = B) (0 = C) (0 = D))\n(MY ((0) (X)))\n"
        self.refuse(text, 4, "no NONE rule")

    def test_missingMemory(self) -> None:
        self.refuse("(HI)\n(NONE ((0) (X)))\n", 3, "no MEMORY rule")

    def test_memoryKeywordMustBeKeyword(self) -> None:
        text = "(HI)\n(NONE ((0) (X)))\n(MY = YOUR)\n(MEMORY MY (0 = A) (0 = B) (0 = C) (0 = D))\n"
        self.refuse(text, 4, "MEMORY keyword MY is not a keyword")
        text = "(HI)\n(NONE ((0) (X)))\n(MEMORY ZZ (0 = A) (0 = B) (0 = C) (0 = D))\n"
        self.refuse(text, 3, "MEMORY keyword ZZ")

    def test_secondMemory(self) -> None:
        self.refuse(
            script("\n(MEMORY MY (0 = A) (0 = B) (0 = C) (0 = D))\n"),
            6,
            "second MEMORY rule (first at line 4)",
        )

    def test_memoryNeedsFourEntries(self) -> None:
        text = "(HI)\n(NONE ((0) (X)))\n(MY ((0) (X)))\n(MEMORY MY\n (0 = A) (0 = B) (0 = C))\n"
        self.refuse(text, 4, "exactly 4")

    def test_memoryEntryNeedsEquals(self) -> None:
        text = (
            "(HI)\n(NONE ((0) (X)))\n(MY ((0) (X)))\n(MEMORY MY\n (0 A) (0 = B) (0 = C) (0 = D))\n"
        )
        self.refuse(text, 5, "needs one '='")

    def test_memoryReassemblyNumberChecked(self) -> None:
        text = (
            "(HI)\n(NONE ((0) (X)))\n(MY ((0) (X)))\n"
            "(MEMORY MY\n (0 = A 2) (0 = B) (0 = C) (0 = D))\n"
        )
        self.refuse(text, 5, "reassembly number 2 is out of range")

    def test_duplicateKeyword(self) -> None:
        self.refuse(
            script("(K ((0) (X)))\n(K ((0) (Y)))\n"), 4, "duplicate keyword K (first at line 3)"
        )

    def test_emptyBody(self) -> None:
        self.refuse(script("(K)\n"), 3, "empty body")

    def test_emptyDecompositionPattern(self) -> None:
        self.refuse(script("(K\n (() (X)))\n"), 4, "empty decomposition pattern")

    def test_reassemblyNumberZero(self) -> None:
        self.refuse(script("(K ((0 K 0)\n (A 0)))\n"), 4, "reassembly number 0")

    def test_reassemblyNumberTooLarge(self) -> None:
        self.refuse(script("(K ((0 K 0)\n (A 4)))\n"), 4, "reassembly number 4 is out of range")

    def test_preNumberChecked(self) -> None:
        self.refuse(script("(L ((0) (X)))\n(K ((0)\n (PRE (A 2) (=L))))\n"), 5, "out of range")

    def test_linkToUnknownKeyword(self) -> None:
        self.refuse(script("(K ((0)\n (=NOWHERE)))\n"), 4, "unknown keyword NOWHERE")
        self.refuse(script("(K\n (=NOWHERE))\n"), 4, "unknown keyword NOWHERE")

    def test_preToUnknownKeyword(self) -> None:
        self.refuse(script("(K ((0)\n (PRE (A) (=NOWHERE))))\n"), 4, "unknown keyword NOWHERE")

    def test_linkToEntryWithoutRules(self) -> None:
        self.refuse(script("(ME = YOU)\n(K ((0)\n (=ME)))\n"), 5, "no transformations or link")

    def test_keywordWithoutTransformationsOrLink(self) -> None:
        self.refuse(script("(K 5)\n"), 3, "precedence but no transformations or link")

    def test_malformedPre(self) -> None:
        self.refuse(script("(L ((0) (X)))\n(K ((0)\n (PRE (A))))\n"), 5, "malformed PRE")
        self.refuse(script("(L ((0) (X)))\n(K ((0)\n (PRE (A) L)))\n"), 5, "malformed PRE")

    def test_malformedLink(self) -> None:
        self.refuse(script("(L ((0) (X)))\n(K ((0)\n (= L M)))\n"), 5, "malformed link")

    def test_unknownWordClass(self) -> None:
        self.refuse(script("(K ((0\n (/NOWHERE) 0) (X)))\n"), 4, "unknown word class /NOWHERE")

    def test_decompositionWithoutReassembly(self) -> None:
        self.refuse(script("(K\n ((0 K 0)))\n"), 4, "has no reassembly")

    def test_unexpectedItemInKeyword(self) -> None:
        self.refuse(script("(K\n STRAY ((0) (X)))\n"), 4, "unexpected STRAY")

    def test_fieldGivenTwice(self) -> None:
        self.refuse(script("(K 1\n 2 ((0) (X)))\n"), 4, "precedence given twice")

    def test_noneMustBePlain(self) -> None:
        text = "(HI)\n(K ((0) (X)))\n(NONE ((0)\n (=K)))\n"
        self.refuse(text, 3, "plain reassemblies")
