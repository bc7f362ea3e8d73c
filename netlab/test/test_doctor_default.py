"""
The project's own default DOCTOR script: loads, greets and covers the usual topics.
"""

from __future__ import annotations

from importlib import resources

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import Doctor, defaultScript
from netlab.doctor.model import Plain


def firstReply(text: str, raw: bool = True) -> str:
    """
    The reply of a fresh default Doctor to C{text}.
    """
    return Doctor().reply(text, raw=raw)


class LoadingTests(SynchronousTestCase):
    def test_shippedAsPackageData(self) -> None:
        data = resources.files("netlab.doctor").joinpath("default.script").read_text()
        self.assertIn("(MEMORY MY", data)

    def test_loadedOnceAndShared(self) -> None:
        self.assertIs(defaultScript(), defaultScript())
        self.assertIs(Doctor().script, Doctor().script)

    def test_size(self) -> None:
        script = defaultScript()
        withRules = [e for e in script.entries.values() if e.decompositions]
        self.assertGreaterEqual(len(script.keywords), 50)
        self.assertGreaterEqual(len(withRules), 50)
        varied = [e for e in withRules if sum(len(d.actions) for d in e.decompositions) >= 2]
        self.assertGreaterEqual(len(varied), 45)

    def test_greeting(self) -> None:
        doctor = Doctor()
        self.assertEqual(
            doctor.greeting(raw=True), "HELLO. I AM THE DOCTOR. WHAT WOULD YOU LIKE TO TALK ABOUT"
        )
        self.assertEqual(
            doctor.greeting(), "Hello. I am the doctor. What would you like to talk about?"
        )


class BehaviourTests(SynchronousTestCase):
    def test_hedgesForContentFreeInput(self) -> None:
        doctor = Doctor()
        hedges = [doctor.reply(text, raw=True) for text in ["Hmm.", "Well.", "Okay"]]
        remarks = [
            " ".join(map(str, a.template))
            for a in defaultScript().none[0].actions
            if isinstance(a, Plain)
        ]
        self.assertEqual(hedges, remarks[:3])
        self.assertEqual(len(set(hedges)), 3)

    def test_personIsSwappedInAQuestion(self) -> None:
        self.assertEqual(firstReply("I like my garden"), "WHY DO YOU SAY YOU LIKE YOUR GARDEN")
        self.assertEqual(
            firstReply("Today I talked to myself"), "WHY DO YOU SAY TODAY YOU TALKED TO YOURSELF"
        )
        self.assertEqual(firstReply("You hate me."), "WHY DO YOU THINK I HATE YOU")
        self.assertEqual(firstReply("I was a teacher"), "WHEN WERE YOU A TEACHER")
        self.assertEqual(firstReply("You were rude"), "WHAT MAKES YOU THINK I WAS RUDE")
        self.assertEqual(firstReply("You are cruel"), "WHY DO YOU THINK I AM CRUEL")

    def test_recallsSomethingSaidEarlier(self) -> None:
        doctor = Doctor()
        doctor.reply("My car is old.")
        doctor.reply("Hmm.")
        self.assertEqual(
            doctor.reply("Nothing.", raw=True), "YOU MENTIONED THAT YOUR CAR IS OLD - TELL ME MORE"
        )

    def test_topics(self) -> None:
        cases = {
            "My mother hates me": "TELL ME ABOUT YOUR FAMILY",
            "My husband ignores me": "HOW LONG HAVE YOU BEEN WITH YOUR HUSBAND",
            "I am unhappy": "I AM SORRY THAT YOU FEEL UNHAPPY",
            "I'm so depressed": "I AM SORRY THAT YOU FEEL DEPRESSED",
            "I'm not happy": "WHAT WOULD HELP YOU FEEL HAPPY",
            "I feel lost": "TELL ME MORE ABOUT THESE FEELINGS",
            "I dreamed about falling": "WHAT DID YOU FEEL WHEN YOU DREAMT ABOUT FALLING",
            "My dreams are strange": "WHAT DO YOU MAKE OF THAT DREAM",
            "I believe I am cursed": "ARE YOU SURE YOU ARE CURSED",
            "Are you a computer?": "DO MACHINES MAKE YOU UNEASY",
            "Sorry about that.": "THERE IS NO NEED TO APOLOGISE",
            "Yes.": "YOU SOUND QUITE SURE",
            "No.": "YOU SEEM VERY DEFINITE ABOUT THAT",
            "What is wrong with me?": "WHAT MAKES YOU ASK",
            "How are you?": "I AM LISTENING. HOW ARE YOU",
            "When will it end?": "WHAT MAKES YOU ASK",
            "Because it hurts.": "IS THAT REALLY THE REASON",
            "He always shouts.": "CAN YOU GIVE ME AN EXAMPLE",
            "Everybody ignores me.": "IS THAT TRUE OF EVERYBODY",
            "I remember the war.": "WHAT MAKES YOU THINK OF THE WAR NOW",
            "I want a new life": "WHAT WOULD CHANGE FOR YOU IF YOU HAD A NEW LIFE",
            "I need help.": "WHAT WOULD CHANGE FOR YOU IF YOU HAD HELP",
            "I can't sleep": "HOW HAVE YOU BEEN SLEEPING",
            "I can't cope": "WHAT STOPS YOU FROM BEING ABLE TO COPE",
            "Why don't you listen?": "DO YOU WANT ME TO LISTEN",
            "Can you help me?": "WHY DO YOU WANT TO KNOW WHETHER I CAN HELP YOU",
            "If I won the lottery": "DO YOU EXPECT THAT YOU WON THE LOTTERY",
            "Perhaps.": "YOU SOUND UNSURE",
            "I am worried about my exams": "WHAT WORRIES YOU MOST ABOUT YOUR EXAMS",
            "Work drains me": "HOW DO YOU FEEL ABOUT YOUR WORK",
            "He is like my brother": "WHAT DO THEY HAVE IN COMMON",
            "You remind me of somebody": "WHAT DO THEY HAVE IN COMMON",
            "My name is Ann": "NAMES DO NOT MATTER MUCH TO ME",
            "Sprechen Sie Deutsch?": "I AM AFRAID I ONLY UNDERSTAND ENGLISH",
            "I feel lonely": "HOW LONG HAVE YOU FELT ALONE",
            "Thanks!": "YOU ARE WELCOME. WHAT ELSE IS ON YOUR MIND",
        }
        for text, expected in cases.items():
            self.assertEqual(firstReply(text), expected, text)

    def test_rotationGivesDifferentReplies(self) -> None:
        doctor = Doctor()
        seen = {doctor.reply("Sorry.", raw=True) for _ in range(4)}
        self.assertEqual(len(seen), 4)

    def test_presentedReplies(self) -> None:
        doctor = Doctor()
        lines = [
            "Men are all alike.",
            "I am unhappy",
            "Hmm",
            "My mother hates me",
            "Why can't I sleep?",
            "you are a machine",
            "",
            "Goodbye",
        ]
        for line in lines:
            text = doctor.reply(line)
            self.assertTrue(text[0].isupper(), text)
            self.assertIn(text[-1], ".?!", text)
            self.assertNotIn(" ,", text)
            words = text.rstrip(".?!").replace(",", "").split()
            self.assertTrue(
                all(
                    w == "I" or w.startswith("I'") or w == w.lower() or w == words[0]
                    for w in words
                    if w != "English"
                ),
                text,
            )

    def test_notThe1966Script(self) -> None:
        doctor = Doctor()
        self.assertNotEqual(doctor.greeting(raw=True), "HOW DO YOU DO. PLEASE TELL ME YOUR PROBLEM")
        self.assertNotEqual(doctor.reply("Men are all alike.", raw=True), "IN WHAT WAY")
