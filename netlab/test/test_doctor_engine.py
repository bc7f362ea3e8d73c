"""
Every rule of the 1966 algorithm (docs/ALGORITHM.md 2.2-2.9), on small inline scripts.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import MAX_INPUT_CHARS, MAX_STEPS, Session, parseScript
from netlab.doctor.engine import MAX_MEMORIES, MAX_MEMORY_CHARS, scan
from netlab.doctor.matcher import Pattern
from netlab.doctor.text import normalise, readLine, tokenise, truncate

# Memory entries are told apart by their first word: M0..M3 is the SLIP HASH of the
# last word.  Check values: TIME -> 0, I -> 1, FATHER -> 2, HERE -> 3.
TRAILER = """
(MEMORY MY
    (0 YOUR 0 = M0 3)
    (0 YOUR 0 = M1 3)
    (0 YOUR 0 = M2 3)
    (0 YOUR 0 = M3 3))
(NONE ((0) (N1 1) (N2 1) (N3 1)))
(MY = YOUR 2 ((0 YOUR 0) (YOURS 3)))
(DAD = FATHER)
"""


def session(body: str) -> Session:
    """
    A fresh session over a script made of C{body} and the MEMORY/NONE/MY trailer.
    """
    return Session(parseScript("(HELLO)\nSTART\n" + body + TRAILER))


def replies(body: str, *lines: str) -> list[str]:
    """
    Raw replies of one fresh session to C{lines}.
    """
    talk = session(body)
    return [talk.respond(line).raw for line in lines]


class InputTests(SynchronousTestCase):
    """
    Normalisation, tokenising and the length cap (2.3).
    """

    def test_hayMapping(self) -> None:
        self.assertEqual(normalise('Why? No! "Quoted" a:b;c'), "WHY. NO.  QUOTED  A,B,C")
        self.assertEqual(
            normalise("it\u2019s \u2018x\u2019 \u201cy\u201d \u2013 \u2014"), "IT'S  X'  Y  , ,"
        )
        self.assertEqual(normalise("stra\u00dfe \ufb01t \u00bfqu\u00e9?"), "STRASSE FIT  QU\u00c9.")

    def test_controlCharactersAndSurrogates(self) -> None:
        self.assertEqual(normalise("a\x00b\tc\x7fd\x85e"), "A B C D E")
        self.assertEqual(normalise("x\udcff"), "X\ufffd")

    def test_nonAsciiTextWithEveryKindOfMapping(self) -> None:
        self.assertEqual(
            normalise("\u00e9\x00?\u2014\udcff\u2019\x85\u00bf\u00df!"), "\u00c9 .,\ufffd'  SS."
        )

    def test_commasAndPeriodsAreTokens(self) -> None:
        self.assertEqual(
            tokenise("WELL,  MY DOG.IS ILL."), ["WELL", ",", "MY", "DOG", ".", "IS", "ILL", "."]
        )
        self.assertEqual(tokenise("DON'T I'M A-B (X) 42"), ["DON'T", "I'M", "A-B", "(X)", "42"])

    def test_truncationAtWordBoundary(self) -> None:
        text = "word " * 2000
        cut, truncated = truncate(text)
        self.assertTrue(truncated)
        self.assertLessEqual(len(cut), MAX_INPUT_CHARS)
        self.assertTrue(cut.endswith("word"))
        self.assertEqual(truncate("short"), ("short", False))
        words, truncated = readLine("x" * 10000)
        self.assertTrue(truncated)
        self.assertEqual(words, ["X" * MAX_INPUT_CHARS])


class LimitAndBuiltInTests(SynchronousTestCase):
    """
    LIMIT steps 2,3,4,1,... and picks the built-in message when nothing matches.
    """

    def test_builtInMessagesFollowLimit(self) -> None:
        body = "(K ((0 NEVER MATCHES 0) (X)))\n"
        self.assertEqual(
            replies(body, "K", "K", "K", "K", "K"),
            ["HMMM", "GO ON , PLEASE", "I SEE", "PLEASE CONTINUE", "HMMM"],
        )

    def test_limitStepsOnEveryLine(self) -> None:
        talk = session("")
        seen = []
        for _ in range(6):
            talk.respond("anything")
            seen.append(talk.limit)
        self.assertEqual(seen, [2, 3, 4, 1, 2, 3])


class ScanTests(SynchronousTestCase):
    """
    Clause delimiters, single-pass substitution and the keystack (2.4).
    """

    BODY = """
(I = YOU ((0) (I-RULE 1)))
(YOU = I ((0) (YOU-RULE 1)))
(ARE ((0) (ARE-RULE 1)))
(LIKE 10 ((0) (LIKE-RULE 1)))
(DREAMS = DREAM 3 (=DREAM))
(DREAM 3 ((0) (DREAM-RULE 1)))
(EVERYBODY 2 ((0) (EVERYBODY-RULE 1)))
(SAY 9 ((0 SAY 0) (SAID 1 / 3)))
"""

    def scanned(self, text: str) -> tuple[list[str], list[str]]:
        talk = session(self.BODY)
        clause, stack = scan(talk.script, readLine(text)[0])
        return clause, list(stack)

    def test_keystackOrderIsNotASort(self) -> None:
        clause, stack = self.scanned("You are like my father in some ways.")
        self.assertEqual(stack, ["LIKE", "YOU", "ARE", "MY"])
        self.assertEqual(clause, "I ARE LIKE YOUR FATHER IN SOME WAYS".split())

    def test_tiesGoToTheBottom(self) -> None:
        self.assertEqual(self.scanned("my father fears everybody")[1], ["MY", "EVERYBODY"])
        self.assertEqual(self.scanned("everybody fears my father")[1], ["EVERYBODY", "MY"])

    def test_higherPrecedenceGoesOnTop(self) -> None:
        self.assertEqual(
            self.scanned("my dreams are like you")[1], ["LIKE", "DREAMS", "MY", "ARE", "YOU"]
        )

    def test_repeatedKeywordPushedTwice(self) -> None:
        self.assertEqual(self.scanned("you and you")[1], ["YOU", "YOU"])

    def test_keystackKeepsKeywordAsTyped(self) -> None:
        clause, stack = self.scanned("my dreams")
        self.assertEqual(stack, ["DREAMS", "MY"])
        self.assertEqual(clause, ["YOUR", "DREAM"])

    def test_substitutionIsASinglePass(self) -> None:
        self.assertEqual(
            self.scanned("you don't argue with me")[0], "I DON'T ARGUE WITH ME".split()
        )
        talk = session(self.BODY + "(ME = YOU)\n")
        self.assertEqual(talk.respond("I say you hate me").raw, "SAID YOU / I HATE YOU")

    def test_keywordlessClausesAreDropped(self) -> None:
        self.assertEqual(
            self.scanned("Well, it is true. You are nice, honestly."),
            ("I ARE NICE".split(), ["YOU", "ARE"]),
        )

    def test_clauseWithKeywordStopsTheScan(self) -> None:
        clause, stack = self.scanned("you are nice, but I like dreams")
        self.assertEqual(stack, ["YOU", "ARE"])
        self.assertEqual(clause, ["I", "ARE", "NICE"])

    def test_butIsADelimiter(self) -> None:
        self.assertEqual(self.scanned("you are calm but I am not")[0], ["I", "ARE", "CALM"])
        self.assertEqual(self.scanned("nothing here but you")[0], ["I"])

    def test_questionAndExclamationMarksEndClauses(self) -> None:
        self.assertEqual(self.scanned("Really? You! fine")[0], ["I"])

    def test_longClauseOfRepeatedKeywords(self) -> None:
        clause, stack = self.scanned("you my " * 500 + "dreams you, like")
        self.assertEqual(clause, "I YOUR".split() * 500 + ["DREAM", "I"])
        self.assertEqual(stack, ["DREAMS", "MY", "YOU"] + ["YOU", "MY"] * 499 + ["YOU"])

    def test_longLineOfDelimitersAndKeywordlessClauses(self) -> None:
        self.assertEqual(self.scanned("one, " * 500 + "two. you"), (["I"], ["YOU"]))
        self.assertEqual(self.scanned(", . " * 500 + "two three"), (["TWO", "THREE"], []))

    def test_noKeywordLeavesTextAfterLastDelimiter(self) -> None:
        self.assertEqual(self.scanned("one, two. three four"), (["THREE", "FOUR"], []))
        self.assertEqual(self.scanned("one, two."), ([], []))


class ProcessingTests(SynchronousTestCase):
    """
    Decomposition order, rotation, links, NEWKEY and PRE (2.6).
    """

    def test_patternsTriedInScriptOrder(self) -> None:
        body = "(K ((0 K 0 A) (FIRST 3)) ((0 K 0) (SECOND 3)))\n"
        self.assertEqual(replies(body, "k x a", "k x b"), ["FIRST X", "SECOND X B"])

    def test_wordClassAndWordSetElements(self) -> None:
        body = (
            "(MOTHER DLIST(/FAMILY))\n(MOM = MOTHER DLIST(/FAMILY))\n"
            "(K ((0 (/FAMILY) 0) (FAM 2 3)) ((0 (*SAD GLUM) 1) (SET 2 3)) ((0) (OTHER)))\n"
        )
        self.assertEqual(
            replies(body, "k the mom cooks", "k mothers", "k so glum today", "k glum too late"),
            ["FAM MOTHER COOKS", "OTHER", "SET GLUM TODAY", "OTHER"],
        )

    def test_rotationWrapsAndPersists(self) -> None:
        body = "(K ((0) (R1) (R2) (R3)))\n"
        self.assertEqual(replies(body, *["k"] * 5), ["R1", "R2", "R3", "R1", "R2"])

    def test_rotationBelongsToTheDecompositionRule(self) -> None:
        body = "(K ((0 A 0) (A1) (A2)) ((0) (B1) (B2)))\n"
        self.assertEqual(replies(body, "k a", "k", "k a", "k"), ["A1", "B1", "A2", "B2"])

    def test_sessionsDoNotShareRotation(self) -> None:
        first, second = session("(K ((0) (R1) (R2)))\n"), session("(K ((0) (R1) (R2)))\n")
        self.assertEqual(first.respond("k").raw, "R1")
        self.assertEqual(second.respond("k").raw, "R1")
        self.assertEqual(first.respond("k").raw, "R2")

    def test_keywordLevelLink(self) -> None:
        body = "(WHAT ((0) (W1) (W2)))\n(HOW (=WHAT))\n"
        self.assertEqual(replies(body, "how so", "what now"), ["W1", "W2"])

    def test_keywordLevelLinkAsFallback(self) -> None:
        body = "(WHAT ((0) (W1 1)))\n(WHY ((0 WHY NOT 0) (NOT 4)) (=WHAT))\n"
        self.assertEqual(replies(body, "why not go", "why go"), ["NOT GO", "W1 WHY GO"])

    def test_reassemblyLinkUsesUpATurnAndTargetCounter(self) -> None:
        body = "(L ((0) (L1) (L2)))\n(K ((0) (=L) (K2)))\n"
        self.assertEqual(replies(body, "k", "k", "k", "l"), ["L1", "K2", "L2", "L1"])

    def test_newkeyTriesNextKeyword(self) -> None:
        body = "(A 5 ((0) (NEWKEY)))\n(B ((0) (B-RULE 1)))\n"
        self.assertEqual(replies(body, "b a x"), ["B-RULE B A X"])

    def test_newkeyWithEmptyStackGivesNone(self) -> None:
        body = "(A ((0) (NEWKEY) (A2)))\n"
        self.assertEqual(replies(body, "a x", "a y", "a z"), ["N1 A X", "A2", "N2 A Z"])

    def test_preRewritesTextAndLinks(self) -> None:
        body = "(L ((0) (L-SEES 1)))\n(K ((0 K 0) (PRE (NEW 3) (=L))))\n"
        self.assertEqual(replies(body, "old k text"), ["L-SEES NEW TEXT"])

    def test_preResultSeenByLaterNewkey(self) -> None:
        body = (
            "(L 9 ((0) (NEWKEY)))\n"
            "(K 10 ((0 K 0) (PRE (REWRITTEN 3) (=L))))\n"
            "(Z ((0) (Z-SEES 1)))\n"
        )
        self.assertEqual(replies(body, "z k tail"), ["Z-SEES REWRITTEN TAIL"])

    def test_unmatchedKeywordWithoutLinkGivesBuiltIn(self) -> None:
        body = "(CAN ((0 CAN I 0) (X)))\n"
        self.assertEqual(replies(body, "they can do it"), ["HMMM"])

    def test_componentsAndLiteralTokens(self) -> None:
        body = "(K ((0 K 0) (REALLY, ' 3 ' - 1)))\n"
        self.assertEqual(replies(body, "so k it is"), ["REALLY, ' IT IS ' - SO"])
        self.assertEqual(replies(body, "k"), ["REALLY, ' ' -"])


class MemoryTests(SynchronousTestCase):
    """
    Memories are made when MY is processed and recalled at LIMIT 4 only (2.5, 2.8).
    """

    def test_memoryEntryChosenByHashOfLastWord(self) -> None:
        for text, expected in [
            ("my time", "M0 TIME"),
            ("my dog and I", "M1 DOG AND I"),
            ("my dad", "M2 FATHER"),
            ("my place here", "M3 PLACE HERE"),
        ]:
            talk = session("")
            talk.respond(text)
            self.assertEqual(list(talk.memories), [expected], text)

    def test_recallOnlyAtLimitFourAndFifo(self) -> None:
        lines = [
            "my time",
            "my dad",
            "nothing",
            "nothing",
            "nothing",
            "nothing",
            "nothing",
            "nothing",
            "nothing",
            "nothing",
            "nothing",
        ]
        self.assertEqual(
            replies("", *lines),
            [
                "YOURS TIME",
                "YOURS FATHER",
                "M0 TIME",
                "N1 NOTHING",
                "N2 NOTHING",
                "N3 NOTHING",
                "M2 FATHER",
                "N1 NOTHING",
                "N2 NOTHING",
                "N3 NOTHING",
                "N1 NOTHING",
            ],
        )

    def test_noRecallWhenAKeywordIsPresent(self) -> None:
        body = "(K ((0) (K-RULE)))\n"
        self.assertEqual(replies(body, "my time", "x", "k"), ["YOURS TIME", "N1 X", "K-RULE"])

    def test_memoryMadeThroughALink(self) -> None:
        talk = session("(K 5 ((0) (=MY)))\n")
        self.assertEqual(talk.respond("k my time").raw, "YOURS TIME")
        self.assertEqual(list(talk.memories), ["M0 TIME"])

    def test_memoryNotMadeWhenMyIsNotPopped(self) -> None:
        talk = session("(K 5 ((0) (K-RULE)))\n")
        self.assertEqual(talk.respond("my time k").raw, "K-RULE")
        self.assertEqual(list(talk.memories), [])

    def test_memoryQueueIsCapped(self) -> None:
        talk = session("")
        for _ in range(MAX_MEMORIES + 10):
            talk.respond("my time")
        self.assertEqual(len(talk.memories), MAX_MEMORIES)

    def test_memoryCharactersAreCapped(self) -> None:
        """
        However long the lines, a session's memories hold at most MAX_MEMORY_CHARS.
        """
        talk = session("")
        for n in range(40):
            talk.respond("my " + f"word{n} " * 500)
        self.assertLessEqual(sum(map(len, talk.memories)), MAX_MEMORY_CHARS)
        self.assertEqual(talk.memoryChars, sum(map(len, talk.memories)))
        self.assertGreater(len(talk.memories), 0)
        recalled = len(talk.memories)
        talk.limit = 3  # the next reply is number 4: a memory is recalled
        talk.respond("nothing to see")
        self.assertEqual(len(talk.memories), recalled - 1)
        self.assertEqual(talk.memoryChars, sum(map(len, talk.memories)))


class NoneTests(SynchronousTestCase):
    """
    NONE rotates with its own counter and cannot be triggered by typing NONE (2.9).
    """

    def test_noneRotation(self) -> None:
        self.assertEqual(replies("", "a", "b", "c", "d"), ["N1 A", "N2 B", "N3 C", "N1 D"])

    def test_typingNoneIsNotAKeyword(self) -> None:
        self.assertEqual(replies("", "none"), ["N1 NONE"])

    def test_emptyAndPunctuationOnlyInput(self) -> None:
        self.assertEqual(replies("", "", ",.?!"), ["N1", "N2"])


class GuardTests(SynchronousTestCase):
    """
    Looping links and hostile lines finish, with the built-in message.
    """

    def test_reassemblyLinkLoopIsCapped(self) -> None:
        talk = session("(A ((0) (=B)))\n(B ((0) (=A)))\n")
        outcome = talk.respond("a")
        self.assertEqual((outcome.raw, outcome.stepCapped), ("HMMM", True))

    def test_keywordLevelLinkLoopIsCapped(self) -> None:
        talk = session("(A (=B))\n(B (=A))\n")
        outcome = talk.respond("b")
        self.assertEqual((outcome.raw, outcome.stepCapped), ("HMMM", True))

    def test_preLoopIsCapped(self) -> None:
        talk = session("(A ((0) (PRE (A 1) (=A))))\n")
        outcome = talk.respond("a")
        self.assertEqual((outcome.raw, outcome.stepCapped), ("HMMM", True))

    def test_manyNewkeyKeywordsStopAtTheCap(self) -> None:
        talk = session("(A ((0) (NEWKEY)))\n(B ((0 B) (NEVER)))\n")
        outcome = talk.respond("a " * (MAX_STEPS * 10) + "b")
        self.assertTrue(outcome.stepCapped)
        self.assertEqual(outcome.raw, "HMMM")

    def test_repeatedKeywordDoesNotRescanTheLine(self) -> None:
        talk = session("(A ((0 A B) (X)) ((0) (NEWKEY)))\n")
        calls = []
        original = Pattern.match

        def counting(pattern: Pattern, words: object, counter: object = None) -> object:
            calls.append(pattern)
            return original(pattern, words, counter)

        self.patch(Pattern, "match", counting)
        outcome = talk.respond("a " * 1000)
        self.assertTrue(outcome.stepCapped)
        self.assertEqual(len(calls), 2)

    def test_hostileLongLineFinishesWithAReply(self) -> None:
        talk = session("(A ((0 A 0 B 0 C 0) (ABC)) ((0 A 0 A 0 A 0 D) (AAAD)) ((0) (NO)))\n")
        outcome = talk.respond("a b " * 3000)
        self.assertTrue(outcome.truncated)
        self.assertEqual(outcome.raw, "NO")


class DeterminismTests(SynchronousTestCase):
    def test_sameConversationSameReplies(self) -> None:
        body = "(K ((0) (R1) (R2) (=L)))\n(L ((0 L 0) (L 3)) ((0) (NEWKEY)))\n"
        lines = ["my time", "k", "l x", "k", "nothing", "my dad", "k l"]
        self.assertEqual(replies(body, *lines), replies(body, *lines))
