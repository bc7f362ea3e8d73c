"""
Hostile input for the fault tests: the bytes a classroom sends by mistake or
on purpose, shared by the protocol-level fuzzing (L{netlab.test.test_fuzz})
and the same scenario over real sockets (C{tests/test_faults_input.py}).
"""

from __future__ import annotations

import random
import re

#: Pieces that hostile or broken clients send.
NASTY: list[bytes] = [
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\r",
    b"\t",
    b"\x07",
    b"\x08",
    b"\x7f",
    b"\x1b",
    b"\x1b[",
    b"\x1b[31m",
    b"\x1b[2J\x1b[H",
    b"\x1b[?1049h",
    b"\x1b]0;pwned\x07",
    b"\x1b]8;;http://x\x1b\\",
    b"\x1bP+q\x1b\\",
    b"\x1bc",
    b"\x9b",
    b"\x9b31m",
    b"\xc2\x9b31m",  # U+009B: the 8-bit CSI, validly encoded
    b"\xc2\x85",  # U+0085: NEL
    b"\xc2\x90",  # U+0090: DCS
    b"\xe2\x80\xae",  # U+202E: right-to-left override (printable? no; not C0/C1)
    b"\xff",
    b"\xff\xff",
    b"\xff\xf4\xff\xfd\x06",  # telnet: IP, DO TIMING-MARK (Ctrl-C)
    b"\xff\xfb\x01",  # WILL ECHO
    b"\xff\xfa\x18\x00xterm\xff\xf0",  # subnegotiation
    b"\xff\xfa",  # unfinished subnegotiation
    b"\xc3",  # truncated two-byte sequence
    b"\xe2\x82",  # truncated three-byte sequence
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\xc0\xaf",  # over-long encoding of /
    "héllo wörld ✓".encode(),
    b"I am sad",
    b"bye",
    b"/nick ",
    b"/nick \x1b[31mred",
    b"/me ",
    b"/msg guest-2 ",
    b"/who",
    b"/help",
    b"/nosuch\x1b[2J",
    b"//",
    b"x" * 70,
]

#: C0 and C1 controls, DEL, and ESC: what must never reach another person.
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

#: The telnet negotiation replies the server sends to a client that negotiated
#: (WILL/WONT/DO/DONT and an option byte); everything else must be UTF-8.
TELNET_REPLY = re.compile(rb"\xff[\xfb-\xfe][\x00-\xff]")


def nastyPayloads(count: int, seed: int = 6) -> list[bytes]:
    """
    C{count} hostile messages built from L{NASTY} and random bytes (for the
    same scenario over real sockets), reproducibly.
    """
    rng = random.Random(seed)
    payloads = []
    for _ in range(count):
        parts = [
            rng.choice(NASTY) if rng.random() < 0.7 else rng.randbytes(rng.randrange(1, 24))
            for _ in range(rng.randrange(1, 10))
        ]
        payloads.append(b"".join(parts))
    return payloads
