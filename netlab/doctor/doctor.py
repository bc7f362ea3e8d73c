"""
The L{Doctor}: one conversation with ELIZA, in the course's interface.

C{Doctor(script=None)} talks with the project's own default script, which is
read from package data once and shared.  L{Doctor.reply} returns the presented
form ("How do you do. Please tell me your problem."); L{Doctor.respond} also
gives the raw upper-case 1966 output that conformance checks compare.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from netlab.course import FAREWELL
from netlab.doctor.engine import Session
from netlab.doctor.model import Script
from netlab.doctor.present import present
from netlab.doctor.script import parseScript

__all__ = ["DEFAULT_SCRIPT_NAME", "FAREWELL", "Doctor", "Reply", "defaultScript"]

DEFAULT_SCRIPT_NAME = "default.script"


@functools.lru_cache(maxsize=1)
def defaultScript() -> Script:
    """
    The project's own DOCTOR script (package data), parsed once and cached.
    """
    data = resources.files(__package__).joinpath(DEFAULT_SCRIPT_NAME).read_bytes()
    return parseScript(data, source=f"netlab/doctor/{DEFAULT_SCRIPT_NAME}")


@dataclass(frozen=True)
class Reply:
    """
    One reply.  A server may want to log either guard that fired.

    @ivar raw: the 1966 output.
    @ivar text: the presented form.
    @ivar truncated: whether the input was cut to the length cap.
    @ivar stepCapped: whether the link/NEWKEY/PRE step cap was hit (a looping
        script), so that the reply is the built-in message.
    """

    raw: str
    text: str
    truncated: bool = False
    stepCapped: bool = False


class Doctor:
    """
    A conversation with ELIZA.  Each instance has its own state; scripts are shared.

    @ivar script: the parsed script this conversation follows.
    """

    def __init__(self, script: Script | None = None) -> None:
        """
        @param script: the script to talk with; L{defaultScript} if C{None}.
        """
        self.script = defaultScript() if script is None else script
        self._session = Session(self.script)

    def greeting(self, raw: bool = False) -> str:
        """
        The script's greeting.

        @param raw: give the 1966 form instead of the presented one.
        """
        text = self.script.greetingText()
        return text if raw else present(text)

    def respond(self, text: str) -> Reply:
        """
        Reply to one line of input, giving both the raw and the presented form.

        Never raises for any C{str}: empty, punctuation only, control characters,
        non-ASCII or huge input (cut to L{netlab.doctor.text.MAX_INPUT_CHARS}).

        @param text: what the patient said.
        """
        outcome = self._session.respond(text)
        shown = present(outcome.raw) or present(self._session.builtIn())
        return Reply(outcome.raw, shown, outcome.truncated, outcome.stepCapped)

    def reply(self, text: str, raw: bool = False) -> str:
        """
        Reply to one line of input.

        @param text: what the patient said.
        @param raw: give the 1966 form instead of the presented one.
        """
        result = self.respond(text)
        return result.raw if raw else result.text

    def farewell(self) -> str:
        """
        What the Doctor says when the patient leaves: the Day/Time service's
        farewell, L{netlab.course.FAREWELL}.
        """
        return FAREWELL
