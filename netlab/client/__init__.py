"""The C{netlab} command-line client for the Day/Time, Chat and Doctor servers.

C{main} is the console-script entry point: it parses the command line and runs one sub-command
under L{twisted.internet.task.react}.  The pieces live in submodules: C{cli} (arguments),
C{connect} (endpoints, the network protocol), C{conversation} (the chat/doctor logic), C{console}
and C{editor} (the user's side), C{daytime}, C{text} (decoding and sanitizing), C{terminal},
C{errors}.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from twisted.internet import task
from twisted.internet.stdio import StandardIO
from twisted.logger import globalLogBeginner

from netlab.client.cli import parse_args
from netlab.client.connect import VERIFICATION, LineProtocol, connect_lines, make_endpoint
from netlab.client.console import ConsoleProtocol, PlainScreen, TerminalScreen
from netlab.client.conversation import CHAT, DOCTOR, Conversation, Outcome, Service
from netlab.client.daytime import fetch_tcp, fetch_udp, print_datagram
from netlab.client.editor import LineEditor
from netlab.client.errors import ClientError, Target, describe_failure
from netlab.client.terminal import TerminalState, terminal_columns

__all__ = ["main", "version"]

SERVICES = {"chat": CHAT, "doctor": DOCTOR}


def version() -> str:
    """The installed distribution's version, else the package's own (running from a source tree)."""
    from importlib import metadata

    try:
        return metadata.version("netlab")
    except metadata.PackageNotFoundError:
        import netlab

        return str(getattr(netlab, "__version__", "unknown"))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the C{netlab} command and exit with its status."""
    args = parse_args(argv, version())
    sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    globalLogBeginner.beginLoggingTo([VERIFICATION], redirectStandardIO=False)
    state = TerminalState()
    try:
        if args.command == "daytime":
            task.react(run_daytime, (args, sys.stdout, sys.stderr))
        else:
            task.react(run_conversation, (args, state, sys.stderr))
    finally:
        state.restore()
    raise AssertionError("react always exits")  # pragma: no cover


def _fail(message: str, stderr: TextIO, status: int = 1) -> NoReturn:
    """Print one line to stderr and end the reactor's main function with C{status}."""
    stderr.write(message + "\n")
    stderr.flush()
    raise SystemExit(status)


async def run_daytime(reactor: Any, args: Any, stdout: TextIO, stderr: TextIO) -> None:
    """C{netlab daytime}: print what the server sends (TCP) or its answering datagram (UDP)."""

    def write(text: str) -> None:
        stdout.write(text)
        stdout.flush()

    target = Target(args.connect or f"{args.host} port {args.port}", args.host)
    try:
        if args.udp:
            target = Target(f"{args.host} port {args.port} (UDP)", args.host)
            data = await fetch_udp(reactor, args.host, args.port, args.timeout)
            print_datagram(data, write)
        else:
            endpoint, target = make_endpoint(
                reactor, args.host, args.port, args.connect, args.timeout
            )
            await fetch_tcp(endpoint, reactor, args.timeout, write)
    except ClientError as exc:
        _fail(exc.message, stderr, exc.status)
    except Exception:
        _fail(describe_failure(_current_failure(), target, args.timeout), stderr)


def _current_failure() -> Any:
    """The exception being handled, as a Failure (for L{describe_failure})."""
    from twisted.python.failure import Failure

    return Failure()


async def run_conversation(
    reactor: Any, args: Any, state: TerminalState, stderr: TextIO
) -> None:
    """C{netlab chat} / C{netlab doctor}: connect, converse, leave as the user or server decides."""
    service: Service = SERVICES[args.command]
    try:
        endpoint, target = make_endpoint(reactor, args.host, args.port, args.connect, args.timeout)
    except ClientError as exc:
        _fail(exc.message, stderr, exc.status)

    console = ConsoleProtocol()
    stdio = StandardIO(console, reactor=reactor)
    # No input until connected; Ctrl-C still works meanwhile (the terminal sends SIGINT).
    stdio.pauseProducing()
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"

    def write(text: str) -> None:
        console.write_text(text, encoding)

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        editor = LineEditor("> ", terminal_columns)
        screen: Any = TerminalScreen(write, editor, state.enter_raw_mode)
    else:
        screen = PlainScreen(write)
    opening = (f"/nick {args.nick}",) if getattr(args, "nick", None) else ()
    conversation = Conversation(
        service, screen, reactor, target, timeout=args.timeout, grace=args.grace, opening=opening
    )
    console.sink = conversation
    _on_sigint(reactor, conversation.interrupt)

    network = LineProtocol(conversation)
    connecting = connect_lines(endpoint, network, reactor, args.timeout)
    connecting.addCallback(_resume_input, stdio)
    conversation.start(connecting)
    outcome: Outcome = await conversation.done
    await console.close()
    state.restore()
    if outcome.message:
        stderr.write(outcome.message + "\n")
        stderr.flush()
    if outcome.status:
        raise SystemExit(outcome.status)


def _resume_input(network: LineProtocol, stdio: StandardIO) -> LineProtocol:
    """Start reading the user's input once the connection is ready."""
    stdio.resumeProducing()
    return network


def _on_sigint(reactor: Any, interrupt: Any) -> None:
    """Route SIGINT (Ctrl-C while not in raw mode, or C{kill -INT}) to the conversation.

    Installed once the reactor runs, replacing Twisted's default handler, which would just stop the
    reactor without closing the connection or restoring the terminal in order.
    """

    def install() -> None:
        signal.signal(signal.SIGINT, lambda signum, frame: reactor.callFromThread(interrupt))

    reactor.callWhenRunning(install)

