"""
Conformance with Hay's 1966 ELIZA: replay the reference conversations reply for reply.

The reference data is not part of netlab.  Set C{NETLAB_ELIZA_REFERENCE} to the
folder holding C{doctor-1966.script} and the conversation files to run these
tests; without it they are skipped.  Sessions follow the reference README: the
CACM conversation and Hay's continuation share one session, the others are fresh.
"""

from __future__ import annotations

import io
import os

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.check import main, readConversation
from netlab.doctor.engine import Session
from netlab.doctor.script import loadScript

ENV = "NETLAB_ELIZA_REFERENCE"
SESSIONS = (
    ("cacm-1966-conversation.txt", "cacm-1966-continuation-hay.txt"),
    ("doctor-every-rule-hay.txt",),
    ("not-a-turing-test-hay.txt",),
)
EXPECTED_EXCHANGES = 114


class ConformanceTests(SynchronousTestCase):
    def setUp(self) -> None:
        folder = os.environ.get(ENV)
        if not folder:
            self.skipTest(f"set {ENV} to the ELIZA reference folder to run conformance tests")
        self.folder = folder
        self.scriptPath = os.path.join(folder, "doctor-1966.script")

    def test_everyExchangeMatches(self) -> None:
        script = loadScript(self.scriptPath)
        self.assertEqual(script.greetingText(), "HOW DO YOU DO. PLEASE TELL ME YOUR PROBLEM")
        self.assertEqual(len(script.entries), 66)
        total = 0
        mismatches = []
        for files in SESSIONS:
            session = Session(script)
            for name in files:
                for exchange in readConversation(os.path.join(self.folder, name)):
                    total += 1
                    got = session.respond(exchange.text).raw
                    if got != exchange.expected:
                        mismatches.append(
                            f"{name}:{exchange.line} {exchange.text!r}: "
                            f"expected {exchange.expected!r}, got {got!r}"
                        )
        self.assertEqual(mismatches, [])
        self.assertEqual(total, EXPECTED_EXCHANGES)

    def test_checkCommand(self) -> None:
        out, err = io.StringIO(), io.StringIO()
        arguments = [self.scriptPath] + [
            "+".join(os.path.join(self.folder, name) for name in files) for files in SESSIONS
        ]
        status = main(arguments, out, err)
        self.assertEqual((status, err.getvalue()), (0, ""))
        self.assertEqual(out.getvalue(), "114 exchanges, 114 matched, 0 mismatched\n")
