"""
Replay conversation files against a script and compare the raw replies.

Usage::

    python -m netlab.doctor.check SCRIPT CONVERSATION [CONVERSATION ...]

A conversation file holds exchanges: a C{> input} line, then the expected reply
on the following line(s) up to the next C{> } line (lines of one reply are
joined with spaces).  Each CONVERSATION argument starts a fresh session;
C{a.txt+b.txt} replays both files in one session.  Every mismatch is reported
with its exchange number, input, expected and actual reply.

Exit status: 0 when every reply matches, 1 when any does not, 2 when the script
is invalid or a file cannot be read (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from netlab.doctor.engine import Session
from netlab.doctor.lexer import ScriptError
from netlab.doctor.model import Script
from netlab.doctor.script import loadScript


class CheckError(Exception):
    """
    A problem that stops the check: unreadable or malformed input files.
    """


@dataclass(frozen=True)
class Exchange:
    """
    One C{> input} line and the reply expected for it.

    @ivar source: the conversation file.
    @ivar line: the line of the file the input is on.
    @ivar text: the input.
    @ivar expected: the expected reply, its lines joined with spaces.
    """

    source: str
    line: int
    text: str
    expected: str


def readConversation(path: str) -> list[Exchange]:
    """
    Parse a conversation file.

    @raise CheckError: if the file cannot be read, has text before the first
        C{> } line or has no exchanges.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckError(f"cannot read conversation {path}: {_reason(exc)}") from None
    exchanges: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("> "):
            exchanges.append((number, line[2:], []))
        elif not exchanges:
            raise CheckError(f"{path}:{number}: expected a '> ' input line first")
        else:
            exchanges[-1][2].append(line.strip())
    if not exchanges:
        raise CheckError(f"{path}: no exchanges found")
    return [
        Exchange(path, n, text, " ".join(w for w in reply if w)) for n, text, reply in exchanges
    ]


def _reason(exc: Exception) -> str:
    """
    A short human reason for an I/O or decoding error.
    """
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def sessionFiles(argument: str) -> list[str]:
    """
    Split C{a.txt+b.txt} into files replayed in one session (an existing path wins).
    """
    if os.path.exists(argument) or "+" not in argument:
        return [argument]
    return [part for part in argument.split("+") if part]


@dataclass
class Tally:
    """
    Counts for the summary line.

    @ivar exchanges: the exchanges replayed.
    @ivar matched: the exchanges whose reply was the expected one.
    """

    exchanges: int = 0
    matched: int = 0

    @property
    def mismatched(self) -> int:
        """
        Exchanges whose reply differed.
        """
        return self.exchanges - self.matched


def replay(script: Script, exchanges: Sequence[Exchange], tally: Tally, out: TextIO) -> None:
    """
    Run one session over C{exchanges}, reporting every mismatch to C{out}.

    @param tally: counts the exchanges and matches.
    """
    session = Session(script)
    for number, exchange in enumerate(exchanges, start=1):
        got = session.respond(exchange.text).raw
        tally.exchanges += 1
        if got == exchange.expected:
            tally.matched += 1
            continue
        out.write(
            f"MISMATCH {exchange.source}:{exchange.line}: exchange {number}\n"
            f"  input:    {exchange.text}\n"
            f"  expected: {exchange.expected}\n"
            f"  got:      {got}\n"
        )


def parser() -> argparse.ArgumentParser:
    """
    The command-line interface.
    """
    result = argparse.ArgumentParser(
        prog="python -m netlab.doctor.check",
        description="Replay ELIZA conversation files against a script and compare raw replies.",
        epilog="Exit status: 0 all matched, 1 some mismatched, 2 bad script or unreadable file.",
    )
    result.add_argument("script", metavar="SCRIPT", help="script in the 1966 notation")
    result.add_argument(
        "conversations",
        metavar="CONVERSATION",
        nargs="+",
        help="conversation file; each starts a fresh session, a.txt+b.txt share one",
    )
    return result


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """
    Run the check.

    @param argv: the command-line arguments, C{sys.argv[1:]} if C{None}.
    @param out: where the report goes, standard output if C{None}.
    @param err: where errors go, standard error if C{None}.
    @return: the exit status.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    args = parser().parse_args(argv)
    try:
        script = loadScript(args.script)
        sessions = [
            [exchange for path in sessionFiles(arg) for exchange in readConversation(path)]
            for arg in args.conversations
        ]
    except ScriptError as exc:
        err.write(f"check: invalid script: {exc}\n")
        return 2
    except OSError as exc:
        err.write(f"check: cannot read script {args.script}: {_reason(exc)}\n")
        return 2
    except CheckError as exc:
        err.write(f"check: {exc}\n")
        return 2
    tally = Tally()
    for exchanges in sessions:
        replay(script, exchanges, tally, out)
    out.write(
        f"{tally.exchanges} exchanges, {tally.matched} matched, {tally.mismatched} mismatched\n"
    )
    return 0 if tally.mismatched == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
