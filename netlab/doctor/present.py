"""
Presenting a raw 1966 reply to a modern reader.

ELIZA's raw output is upper case, words joined by single spaces, no closing
punctuation (C{GO ON , PLEASE}).  L{present} turns it into sentence case with a
closing mark (C{Go on, please.}) and otherwise keeps the engine's words:

  - every letter is lower-cased, then the first letter of each sentence is
    capitalised, and so are the pronoun C{I} and its contractions (C{I'm});
  - a space before C{,} or C{.} is dropped;
  - a reply without closing punctuation gets C{?} when its last sentence opens
    with a question word or auxiliary verb, or ends in a tag question
    (C{... - DON'T YOU}), and C{.} otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: First words that make the last sentence of a reply a question.
QUESTION_OPENERS = frozenset(
    """
    WHY WHAT HOW WHO WHOM WHOSE WHEN WHERE WHICH DO DOES DID DON'T DOESN'T DIDN'T
    ARE AREN'T IS ISN'T AM WAS WASN'T WERE WEREN'T CAN CAN'T COULD COULDN'T WOULD
    WOULDN'T WILL WON'T SHALL SHOULD SHOULDN'T HAVE HAVEN'T HAS HASN'T HAD MAY MIGHT
    MUST
    """.split()
)

#: Endings that make a reply a tag question (C{... - DON'T YOU}).
TAG_QUESTIONS = (" DON'T YOU", " AREN'T YOU", " - ARE YOU", ", ARE YOU", " ISN'T IT")

#: Words that keep a capital letter wherever they appear.
PROPER_WORDS = {"I": "I", "ENGLISH": "English", "ELIZA": "Eliza"}

_SENTENCE_ENDS = (".", "?", "!")

#: The space before a C{,} or C{.} token, which the presented reply drops.
_ATTACHED = re.compile(r" (?=[,.](?: |$))")


def _word(token: str, startsSentence: bool) -> str:
    """
    Case one raw token for the presented reply.
    """
    if token in PROPER_WORDS:
        return PROPER_WORDS[token]
    lower = token.lower()
    if token.startswith("I'") and token != "I'":
        return "I" + lower[1:]
    if startsSentence:
        for index, char in enumerate(lower):
            if char.isalpha():
                return lower[:index] + char.upper() + lower[index + 1 :]
    return lower


def _found(text: str, needle: str, shift: int) -> Iterator[int]:
    """
    Every position of C{needle} in C{text} (overlaps included), plus C{shift}.
    """
    at = text.find(needle)
    while at >= 0:
        yield at + shift
        at = text.find(needle, at + 1)


def _specialStarts(padded: str) -> set[int]:
    """
    Where the tokens start that L{_word} cases other than by lower-casing.

    These are the first token, tokens after a sentence end, C{I'...}
    contractions and C{ENGLISH}/C{ELIZA}; C{I} itself is left to L{_case}
    unless a lower-case C{i} token is about.  Each search is skipped when a
    one-character test (C{memchr} fast) rules it out.

    @param padded: the line with a space at each end.
    """
    starts = {1}
    for end in _SENTENCE_ENDS:
        if end in padded:
            starts.update(_found(padded, end + " ", 2))
    if "'" in padded:
        starts.update(_found(padded, " I'", 1))
    if "Z" in padded:
        starts.update(_found(padded, " ELIZA ", 1))
    starts.update(_found(padded, " ENGLISH ", 1))
    if _hasLowerI(padded):
        starts.update(_found(padded, " I ", 1))
    starts.discard(len(padded))  # after the sentence end that closes the line
    return starts


def _hasLowerI(padded: str) -> bool:
    """
    Whether the padded line has a lower-case C{i} token (raw replies never do).
    """
    return "i" in padded and " i " in padded


def _case(line: str) -> str:
    """
    Case every token of C{line} (tokens joined by single spaces) as L{_word} does.

    A long reply is mostly plain words, so the text between the few special tokens is
    lower-cased a whole stretch at a time (spaces end any case context, so that equals
    lower-casing word by word), and the C{I} tokens are restored with C{str.replace}.
    """
    padded = f" {line} "
    pieces = []
    done = 0
    for start in sorted(_specialStarts(padded)):
        end = padded.index(" ", start)
        pieces.append(padded[done:start].lower())
        startsSentence = start == 1 or padded[start - 2] in _SENTENCE_ENDS
        pieces.append(_word(padded[start:end], startsSentence))
        done = end
    pieces.append(padded[done:].lower())
    cased = "".join(pieces)
    if not _hasLowerI(padded):  # every lower-case " i " token was an "I": restore it
        cased = cased.replace(" i ", " I ").replace(" i ", " I ")
    return cased[1:-1]


def _isQuestion(line: str) -> bool:
    """
    Whether the last sentence of the raw tokens (joined by single spaces) is a question.
    """
    cut = max((line.rfind(end + " ") for end in _SENTENCE_ENDS if end in line), default=-1)
    sentence = line[cut + 2 :] if cut >= 0 else line
    head = [token.strip("'\",") for token in sentence.split(" ", 2)[:2]]
    if head[0] in QUESTION_OPENERS or head == ["IN", "WHAT"]:
        return True
    return sentence.endswith(TAG_QUESTIONS)


def _singleSpaced(raw: str) -> str:
    """
    The tokens of C{raw} joined by single spaces: usually C{raw} itself, as checked.

    C{str.isprintable} is false for every whitespace character but the space.
    """
    if raw.isprintable() and "  " not in raw and raw[:1] != " " and raw[-1:] != " ":
        return raw
    return " ".join(raw.split())


def present(raw: str) -> str:
    """
    Return C{raw} in sentence case with closing punctuation; C{""} stays C{""}.

    @param raw: a raw 1966 reply.
    """
    line = _singleSpaced(raw)
    if not line:
        return ""
    text = _case(line)
    if ("," in text or "." in text) and (" ," in text or " ." in text):  # memchr first
        text = _ATTACHED.sub("", text)
    text = text.rstrip(",;:- ")
    if not text:
        return raw
    if not text.endswith(_SENTENCE_ENDS):
        text += "?" if _isQuestion(line) else "."
    return text
