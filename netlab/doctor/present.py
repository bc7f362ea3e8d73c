"""Presenting a raw 1966 reply to a modern reader.

ELIZA's raw output is upper case, words joined by single spaces, no closing
punctuation (``GO ON , PLEASE``).  :func:`present` turns it into sentence case
with a closing mark (``Go on, please.``) and otherwise keeps the engine's words:

* every letter is lower-cased, then the first letter of each sentence is
  capitalised, and so are the pronoun ``I`` and its contractions (``I'm``);
* a space before ``,`` or ``.`` is dropped;
* a reply without closing punctuation gets ``?`` when its last sentence opens
  with a question word or auxiliary verb, or ends in a tag question
  (``... - DON'T YOU``), and ``.`` otherwise.
"""

from __future__ import annotations

QUESTION_OPENERS = frozenset(
    """
    WHY WHAT HOW WHO WHOM WHOSE WHEN WHERE WHICH DO DOES DID DON'T DOESN'T DIDN'T
    ARE AREN'T IS ISN'T AM WAS WASN'T WERE WEREN'T CAN CAN'T COULD COULDN'T WOULD
    WOULDN'T WILL WON'T SHALL SHOULD SHOULDN'T HAVE HAVEN'T HAS HASN'T HAD MAY MIGHT
    MUST
    """.split()
)
"""First words that make the last sentence of a reply a question."""

TAG_QUESTIONS = (" DON'T YOU", " AREN'T YOU", " - ARE YOU", ", ARE YOU", " ISN'T IT")
"""Endings that make a reply a tag question (``... - DON'T YOU``)."""

PROPER_WORDS = {"I": "I", "ENGLISH": "English", "ELIZA": "Eliza"}
"""Words that keep a capital letter wherever they appear."""

_SENTENCE_ENDS = (".", "?", "!")


def _word(token: str, starts_sentence: bool) -> str:
    """Case one raw token for the presented reply."""
    if token in PROPER_WORDS:
        return PROPER_WORDS[token]
    lower = token.lower()
    if token.startswith("I'") and token != "I'":
        return "I" + lower[1:]
    if starts_sentence:
        for index, char in enumerate(lower):
            if char.isalpha():
                return lower[:index] + char.upper() + lower[index + 1 :]
    return lower


def _is_question(tokens: list[str]) -> bool:
    """Whether the last sentence of the raw tokens reads as a question."""
    start = 0
    for index, token in enumerate(tokens[:-1]):
        if token.endswith(_SENTENCE_ENDS):
            start = index + 1
    sentence = [token.strip("'\",") for token in tokens[start:]]
    if not sentence:
        return False
    if sentence[0] in QUESTION_OPENERS:
        return True
    if sentence[:2] == ["IN", "WHAT"]:
        return True
    return " ".join(tokens[start:]).endswith(TAG_QUESTIONS)


def present(raw: str) -> str:
    """Return ``raw`` in sentence case with closing punctuation; ``""`` stays ``""``."""
    tokens = raw.split()
    if not tokens:
        return ""
    words: list[str] = []
    starts_sentence = True
    for token in tokens:
        if token in {",", "."} and words:
            words[-1] += token
        else:
            words.append(_word(token, starts_sentence))
        starts_sentence = token.endswith(_SENTENCE_ENDS)
    text = " ".join(words).rstrip(",;:- ")
    if not text:
        return raw
    if not text.endswith(_SENTENCE_ENDS):
        text += "?" if _is_question(tokens) else "."
    return text
