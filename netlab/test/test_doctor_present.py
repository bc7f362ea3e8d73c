"""
Presentation of raw replies, and the Doctor's public interface.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import FAREWELL, Doctor, Reply, parseScript, present
from netlab.test.extras import given
from netlab.test.extras import strategies as st

SMALL = """(HOW DO YOU DO.  PLEASE TELL ME YOUR PROBLEM)
(MEMORY MY (0 YOUR 0 = A 3) (0 YOUR 0 = B 3) (0 YOUR 0 = C 3) (0 YOUR 0 = D 3))
(NONE ((0) (GO ON , PLEASE)))
(MY = YOUR ((0 YOUR 0) (WHY YOUR 3)))
(YOU = I ((0 I 0) (OH, I 3)))
(LOOP ((0) (=LOOP)))
"""


class PresentTests(SynchronousTestCase):
    def test_sentenceCaseAndClosingMark(self) -> None:
        self.assertEqual(
            present("HOW DO YOU DO. PLEASE TELL ME YOUR PROBLEM"),
            "How do you do. Please tell me your problem.",
        )

    def test_questionsGetAQuestionMark(self) -> None:
        self.assertEqual(present("WHY DO YOU ASK"), "Why do you ask?")
        self.assertEqual(
            present("DO YOU SAY 'NO' JUST TO BE NEGATIVE"), "Do you say 'no' just to be negative?"
        )
        self.assertEqual(present("IN WHAT WAY"), "In what way?")
        self.assertEqual(
            present("YOU LIKE TO THINK I HATE YOU - DON'T YOU"),
            "You like to think I hate you - don't you?",
        )

    def test_statementsGetAFullStop(self) -> None:
        self.assertEqual(present("YOUR FATHER"), "Your father.")
        self.assertEqual(present("HMMM"), "Hmmm.")

    def test_pronounIAndContractionsStayCapitalised(self) -> None:
        self.assertEqual(
            present("OH, I SEE WHAT I'M DOING AND I'VE DONE"),
            "Oh, I see what I'm doing and I've done.",
        )
        self.assertEqual(present("IT IS MINE"), "It is mine.")

    def test_spacedPunctuationIsClosedUp(self) -> None:
        self.assertEqual(present("GO ON , PLEASE"), "Go on, please.")
        self.assertEqual(present("REALLY, ALWAYS ."), "Really, always.")

    def test_existingClosingMarkKept(self) -> None:
        self.assertEqual(present("WHO? ME!"), "Who? Me!")

    def test_empty(self) -> None:
        self.assertEqual(present(""), "")


class LongReplyPresentTests(SynchronousTestCase):
    """
    The tokens that keep or gain a capital, wherever they stand in a reply.
    """

    def test_pronounIThroughoutALongReply(self) -> None:
        raw = "YOU SAY I ARE " * 300 + "NOW"
        self.assertEqual(present(raw), "You say I are " + "you say I are " * 299 + "now.")

    def test_lowerCaseITokenIsCasedLikeAnyWord(self) -> None:
        self.assertEqual(present("i said I"), "I said I.")
        self.assertEqual(present("OK i said I"), "Ok i said I.")

    def test_contractionsProperWordsAndSentenceStarts(self) -> None:
        self.assertEqual(present("I' I'M HERE"), "I' I'm here.")
        self.assertEqual(present("ENGLISH, ELIZA. ENGLISHMAN"), "English, eliza. Englishman.")
        self.assertEqual(present("SO? WHY NOT"), "So? Why not?")
        self.assertEqual(present("OK. I"), "Ok. I.")

    def test_punctuationTokensCloseUp(self) -> None:
        self.assertEqual(present("YES , , NO ."), "Yes,, no.")
        self.assertEqual(present(", HELLO"), ", hello.")

    def test_lastSentenceDecidesTheClosingMark(self) -> None:
        self.assertEqual(present("X.\tIN  WHAT WAY"), "X. In what way?")
        self.assertEqual(present("A. 'WHY' ME"), "A. 'Why' me?")
        self.assertEqual(present("IT IS - DON'T YOU"), "It is - don't you?")

    def test_otherWhitespaceAndFinalSigma(self) -> None:
        self.assertEqual(present("I\u2028AM"), "I am.")
        self.assertEqual(
            present("WHAT IS \u0391\u03a3 \u03a3\u0391"), "What is \u03b1\u03c2 \u03c3\u03b1?"
        )


class DoctorInterfaceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.doctor = Doctor(parseScript(SMALL))

    def test_greeting(self) -> None:
        self.assertEqual(self.doctor.greeting(), "How do you do. Please tell me your problem.")
        self.assertEqual(
            self.doctor.greeting(raw=True), "HOW DO YOU DO. PLEASE TELL ME YOUR PROBLEM"
        )

    def test_replyIsPresentedAndRawAvailable(self) -> None:
        self.assertEqual(self.doctor.reply("you hate me"), "Oh, I hate me.")
        self.assertEqual(self.doctor.reply("you hate me", raw=True), "OH, I HATE ME")
        reply = self.doctor.respond("My dog bites")
        self.assertEqual(reply, Reply("WHY YOUR DOG BITES", "Why your dog bites?"))

    def test_farewell(self) -> None:
        self.assertEqual(self.doctor.farewell(), FAREWELL)
        self.assertEqual(FAREWELL, "Have a nice day!")

    def test_loopingScriptReportsTheCap(self) -> None:
        reply = self.doctor.respond("loop")
        self.assertTrue(reply.stepCapped)
        self.assertEqual(reply.text, "Hmmm.")

    def test_eachDoctorHasItsOwnState(self) -> None:
        other = Doctor(self.doctor.script)
        self.doctor.reply("my cat")
        self.assertEqual(list(other._session.memories), [])
        self.assertIs(other.script, self.doctor.script)

    @given(lambda: st.text(), examples=200)
    def test_anyTextGetsANonEmptyReply(self, text: str) -> None:
        reply = Doctor().respond(text)
        self.assertTrue(reply.text)
        self.assertIsInstance(reply.raw, str)

    @given(
        lambda: st.lists(st.text(alphabet=st.characters(), max_size=300), max_size=8),
        examples=50,
    )
    def test_conversationNeverRaises(self, lines: list[str]) -> None:
        doctor = Doctor()
        for line in lines:
            self.assertTrue(doctor.reply(line))

    def test_awkwardInputs(self) -> None:
        doctor = Doctor()
        for text in [
            "",
            " ",
            "...",
            "?!,;:",
            "\x00\x1b[31m\x7f",
            "\udcff\ud800",
            "ﬁ ß Æ 日本語 🙂",
            "x" * 100_000,
            "my " * 5000,
            "\n\r\t",
        ]:
            self.assertTrue(doctor.reply(text), repr(text[:20]))
