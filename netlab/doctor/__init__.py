"""
ELIZA's DOCTOR: a pure-Python 1966 ELIZA engine.

Usage::

    from netlab.doctor import Doctor
    doctor = Doctor()              # the project's own default script
    doctor.greeting()              # presented form; greeting(raw=True) for the 1966 form
    doctor.reply("I am unhappy")   # presented; reply(text, raw=True) or respond(text).raw

Scripts in the 1966 notation are read with L{loadScript} or L{parseScript}; an
invalid script raises L{ScriptError} naming the line.  The algorithm follows
Hay's reconstruction (see L{netlab.doctor.engine}).  Only
L{netlab.doctor.service} puts the engine on the network; the engine itself uses
no Twisted, and importing it loads none.
"""

from __future__ import annotations

from netlab.doctor.doctor import FAREWELL, Doctor, Reply, defaultScript
from netlab.doctor.engine import BUILT_IN, MAX_MEMORIES, MAX_STEPS, Session
from netlab.doctor.lexer import ScriptError
from netlab.doctor.model import Script
from netlab.doctor.present import present
from netlab.doctor.script import loadScript, parseScript
from netlab.doctor.text import MAX_INPUT_CHARS

__all__ = [
    "BUILT_IN",
    "FAREWELL",
    "MAX_INPUT_CHARS",
    "MAX_MEMORIES",
    "MAX_STEPS",
    "Doctor",
    "Reply",
    "Script",
    "ScriptError",
    "Session",
    "defaultScript",
    "loadScript",
    "parseScript",
    "present",
]
