"""
The C{netlab} command-line client for the Day/Time, Chat and Doctor servers.

C{main} is the console-script entry point: it parses the command line and runs one sub-command
under L{twisted.internet.task.react}.  The pieces live in submodules: C{cli} (arguments),
C{connect} (endpoints, the network protocol), C{conversation} (the chat/doctor logic), C{console}
and C{editor} (the user's side), C{daytime}, C{text} (line splitting, display width and what is
safe to show, by way of L{netlab.text}), C{terminal}, C{errors}.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, NoReturn, TextIO

from twisted.internet import task
from twisted.internet.stdio import StandardIO
from twisted.logger import globalLogBeginner
from twisted.python.failure import Failure

import netlab
from netlab.client.cli import parseArgs
from netlab.client.connect import VERIFICATION, LineProtocol, connectLines, makeEndpoint
from netlab.client.console import ConsoleProtocol, PlainScreen, TerminalScreen
from netlab.client.conversation import CHAT, DOCTOR, Conversation, Outcome, Service
from netlab.client.daytime import fetchTCP, fetchUDP, printDatagram
from netlab.client.editor import LineEditor
from netlab.client.errors import ClientError, Target, describeFailure
from netlab.client.terminal import TerminalState, terminalColumns

__all__ = ["keepStdinOpen", "main", "version"]

#: The conversational sub-commands and the services they talk to.
SERVICES = {"chat": CHAT, "doctor": DOCTOR}


def version() -> str:
    """
    The installed distribution's version, else the package's own (running from a source tree).

    @return: a version string such as C{"0.1.0"}.
    """
    try:
        return metadata.version("netlab")
    except metadata.PackageNotFoundError:
        return str(getattr(netlab, "__version__", "unknown"))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """
    Run the C{netlab} command and exit with its status.

    @param argv: the arguments after the program name; L{None} for C{sys.argv[1:]}.
    """
    keepStdinOpen()
    args = parseArgs(argv, version())
    sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    globalLogBeginner.beginLoggingTo([VERIFICATION], redirectStandardIO=False)
    state = TerminalState()
    try:
        if args.command == "daytime":
            task.react(runDaytime, (args, sys.stdout, sys.stderr))
        else:
            task.react(runConversation, (args, state, sys.stderr))
    finally:
        state.restore()
    raise AssertionError("react always exits")  # pragma: no cover


def keepStdinOpen(fd: int = 0) -> None:
    """
    Put an empty pipe on descriptor C{fd} (standard input) if it is closed (C{netlab ... <&-}).

    A closed descriptor 0 is the lowest free number, so the next one opened -- the reactor's epoll
    descriptor, the connection's socket -- would be given it, and C{StandardIO} would read that as
    the user's input.  The read end of a pipe whose write end is closed reads as end of input at
    once; unlike C{/dev/null}, it cannot be anything else on a misconfigured system.

    @param fd: the descriptor to keep open.
    """
    try:
        os.fstat(fd)
        return
    except OSError:
        pass
    readEnd, writeEnd = os.pipe()
    os.close(writeEnd)
    if readEnd != fd:
        os.dup2(readEnd, fd, inheritable=False)
        os.close(readEnd)


def _fail(message: str, stderr: TextIO, status: int = 1) -> NoReturn:
    """
    Print one line to C{stderr} and end the reactor's main function with C{status}.
    """
    stderr.write(message + "\n")
    stderr.flush()
    raise SystemExit(status)


async def runDaytime(reactor: Any, args: Any, stdout: TextIO, stderr: TextIO) -> None:
    """
    C{netlab daytime}: print what the server sends (TCP) or its answering datagram (UDP).

    @param reactor: the running reactor (from L{task.react}).
    @param args: the parsed command line (see L{netlab.client.cli.parseArgs}).
    @param stdout: where the server's lines go.
    @param stderr: where the one line about a failure goes.
    """

    def write(text: str) -> None:
        stdout.write(text)
        stdout.flush()

    target = Target(args.connect or f"{args.host} port {args.port}", args.host)
    try:
        if args.udp:
            target = Target(f"{args.host} port {args.port} (UDP)", args.host)
            data = await fetchUDP(reactor, args.host, args.port, args.timeout)
            printDatagram(data, write)
        else:
            endpoint, target = makeEndpoint(
                reactor, args.host, args.port, args.connect, args.timeout
            )
            await fetchTCP(endpoint, reactor, args.timeout, write)
    except ClientError as exc:
        _fail(exc.message, stderr, exc.status)
    except Exception:
        _fail(describeFailure(_currentFailure(), target, args.timeout), stderr)


def _currentFailure() -> Failure:
    """
    The exception being handled, as a L{Failure} (for L{describeFailure}).
    """
    return Failure()


async def runConversation(
    reactor: Any, args: Any, state: TerminalState, stderr: TextIO
) -> None:
    """
    C{netlab chat} / C{netlab doctor}: connect, converse, leave as the user or server decides.

    @param reactor: the running reactor (from L{task.react}).
    @param args: the parsed command line (see L{netlab.client.cli.parseArgs}).
    @param state: the terminal as it was, restored before the outcome is reported.
    @param stderr: where the one line about the outcome goes, if there is one.
    """
    service: Service = SERVICES[args.command]
    try:
        endpoint, target = makeEndpoint(reactor, args.host, args.port, args.connect, args.timeout)
    except ClientError as exc:
        _fail(exc.message, stderr, exc.status)

    console = ConsoleProtocol()
    stdio = StandardIO(console, reactor=reactor)
    # No input until connected; Ctrl-C still works meanwhile (the terminal sends SIGINT).
    stdio.pauseProducing()
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"

    def write(text: str) -> None:
        console.writeText(text, encoding)

    # Not sys.stdin.isatty(): sys.stdin is None when Python started with descriptor 0 closed.
    interactive = os.isatty(0) and os.isatty(1)
    if interactive:
        editor = LineEditor("> ", terminalColumns)
        screen: Any = TerminalScreen(write, editor, state.enterRawMode)
    else:
        screen = PlainScreen(write)
    opening = (f"/nick {args.nick}",) if getattr(args, "nick", None) else ()
    conversation = Conversation(
        service, screen, reactor, target, timeout=args.timeout, grace=args.grace, opening=opening
    )
    console.sink = conversation
    _onSigint(reactor, conversation.interrupt)

    network = LineProtocol(conversation)
    connecting = connectLines(endpoint, network, reactor, args.timeout)
    connecting.addCallback(_resumeInput, stdio)
    conversation.start(connecting)
    outcome: Outcome = await conversation.done
    await console.close()
    state.restore()
    if outcome.message:
        stderr.write(outcome.message + "\n")
        stderr.flush()
    if outcome.status:
        raise SystemExit(outcome.status)


def _resumeInput(network: LineProtocol, stdio: StandardIO) -> LineProtocol:
    """
    Start reading the user's input once the connection is ready.
    """
    stdio.resumeProducing()
    return network


def _onSigint(reactor: Any, interrupt: Callable[[], None]) -> None:
    """
    Route SIGINT (Ctrl-C while not in raw mode, or C{kill -INT}) to the conversation.

    Installed once the reactor runs, replacing Twisted's default handler, which would just stop the
    reactor without closing the connection or restoring the terminal in order.
    """

    def install() -> None:
        signal.signal(signal.SIGINT, lambda signum, frame: reactor.callFromThread(interrupt))

    reactor.callWhenRunning(install)

