"""
Text safety, written once for the servers and the client.

Two things stand between bytes from the network and anyone's screen:

  - L{decode} turns bytes into text: UTF-8 with invalid bytes replaced by
    U+FFFD, never an exception, and (for bytes from a possible telnet client)
    telnet commands removed first.
  - L{scrub} removes everything that could drive a terminal or disguise a
    line: ANSI/ECMA-48 escape sequences (7- and 8-bit forms), C0 and C1
    control characters, bidi controls, zero-width characters, line and
    paragraph separators, blank "fillers" and tag characters; and it cuts
    stacks of combining marks ("Zalgo" text) down to two per character.

The servers scrub whatever they relay to other people (L{netlab.chat},
L{netlab.doctor}); the client scrubs every line a server sends before it
reaches the user's terminal (L{netlab.client}).
"""

from __future__ import annotations

import re

__all__ = ["decode", "scrub"]

#: Telnet commands: IAC followed by WILL/WONT/DO/DONT and an option, a
#: subnegotiation up to IAC SE, or any other two-byte command.  IAC IAC is an
#: escaped 0xFF, which is not valid UTF-8 either, so it goes too.
_TELNET_COMMAND = re.compile(rb"\xff(?:[\xfb-\xfe].?|\xfa.*?(?:\xff\xf0|$)|.?)", re.DOTALL)

#: ANSI/ECMA-48 escape sequences (CSI, OSC and friends, 7- and 8-bit forms) and
#: every remaining C0 and C1 control character except tab.
_CONTROL = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # CSI ... final
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"  # OSC, DCS, ... ST
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"  # other escapes
    r"|[\x00-\x08\x0a-\x1f\x7f-\x9f]"
    # Invisible characters that still change what a line looks like: bidi
    # controls (a U+202E reverses the rest of a line), zero-width ones, and
    # line/paragraph separators (line breaks to splitlines() and JavaScript).
    r"|[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]",
    re.DOTALL,
)

#: Characters that show as nothing, or as a blank whose width terminals do not
#: agree on, though most of them count as printable: the Hangul fillers
#: (U+115F, U+1160, U+3164, U+FFA0), the Khmer inherent vowels (U+17B4,
#: U+17B5), the Mongolian vowel separator (U+180E), the interlinear annotation
#: characters (U+FFF9-U+FFFB) and the tag characters (U+E0000-U+E007F, which
#: can spell out hidden text).  A blank as wide as a letter everywhere (U+3000,
#: U+2800) stays: it hides nothing.
_HIDDEN_CHARACTERS = (
    r"\u115f\u1160\u17b4\u17b5\u180e\u3164\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
)
_HIDDEN = re.compile(rf"[{_HIDDEN_CHARACTERS}]")

#: The blocks of combining marks that go on any letter (Combining Diacritical
#: Marks, its Extended and Supplement blocks, the marks for symbols, the half
#: marks): those stacked by the hundred in "Zalgo" text, which spills over the
#: lines above and below.  Real text puts at most two on a letter (Vietnamese
#: U+1EC7 is e, U+0323, U+0302).  The marks of particular scripts (Hebrew
#: points, Thai, Devanagari, ...) are left alone: some of those legitimately
#: stack three or more.
_MARKS = r"\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"

#: A stack of more than two of those marks; its first two (group 1) stay.
#: (C{[...][...]} rather than C{[...]{2}}: a pattern that starts with a
#: character class is searched for much faster.)
_EXCESS_MARKS = re.compile(rf"([{_MARKS}][{_MARKS}])[{_MARKS}]+")

#: A character that might need L{scrub}'s attention in text that has no
#: control characters left: a hidden character or a mark.
_SUSPECT = re.compile(rf"[{_HIDDEN_CHARACTERS}{_MARKS}]")

#: The same for printable text, which cannot hold the hidden characters that
#: are not printable (U+180E, U+FFF9-U+FFFB, the tags): a smaller character
#: class, searched faster.
_PRINTABLE_SUSPECT = re.compile(rf"[\u115f\u1160\u17b4\u17b5\u3164\uffa0{_MARKS}]")


def scrub(text: str, *, keepTabs: bool = False) -> str:
    """
    Remove everything that could drive a terminal or disguise a line: escape
    sequences, control characters, bidi controls, zero-width characters, line
    separators, blank fillers and tag characters; and cut every stack of
    combining marks down to its first two.  Used on anything relayed to other
    people, and on everything a server sends to the client.

    @param text: the text to make safe.
    @param keepTabs: whether a tab stays a tab.  By default it becomes a space,
        as the servers want for text relayed to other people; the client keeps
        tabs in what it shows of a server's own lines (a tab only moves the
        cursor forward on the same line, so it cannot drive the terminal).
    @return: C{text} without those characters; C{text} itself if it has none.
    """
    if text.isprintable():
        # Printable ASCII (nearly every line) is safe as it is, and so is
        # printable text without a mark or a hidden character.
        if text.isascii() or _PRINTABLE_SUSPECT.search(text) is None:
            return text
    else:
        text = _CONTROL.sub("", text)
        if not keepTabs:
            text = text.replace("\t", " ")
        if text.isascii() or _SUSPECT.search(text) is None:
            return text
    # Hidden characters first, or one between marks would split their stack.
    return _EXCESS_MARKS.sub(r"\1", _HIDDEN.sub("", text))


def decode(line: bytes, *, telnet: bool = True) -> str:
    """
    Turn a line of raw bytes into text: telnet commands removed, UTF-8 decoded
    with invalid bytes replaced by U+FFFD.  (L{netlab.framing.MessageReceiver}
    parses telnet commands properly instead, and keeps C{IAC IAC} as a 0xFF
    data byte.)

    @param line: the bytes, without their line terminator.
    @param telnet: whether the bytes may hold telnet commands, as from a
        client that may be C{telnet}.  With L{False} (bytes from a server,
        which never negotiates with the netlab client) a 0xFF byte is just an
        invalid byte, shown as U+FFFD, and never takes its neighbours with it.
    @return: the decoded text (not yet scrubbed: see L{scrub}).
    """
    if telnet and b"\xff" in line:
        line = _TELNET_COMMAND.sub(b"", line)
    return line.decode("utf-8", "replace")
