"""
The command line: C{netlab daytime|chat|doctor [HOST] [-p PORT] ...}.

Parsing is kept apart from running so that the tests can check every option without a network.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from netlab.ports import PORTS

DEFAULT_TIMEOUT = 10.0
DEFAULT_GRACE = 0.5

DESCRIPTION = f"""\
Command-line client for netlab's servers (and any server speaking the same simple protocols).

  netlab daytime [HOST] [-p PORT] [--udp]        print the server's date and time
  netlab chat    [HOST] [-p PORT] [--nick NAME]  join the chat room
  netlab doctor  [HOST] [-p PORT]                talk to the ELIZA "Doctor"

HOST defaults to localhost; IPv4 and IPv6 addresses (e.g. ::1) and host names work.
Use --connect ENDPOINT instead of HOST/--port for any Twisted client endpoint,
e.g. tls:example.org:{PORTS["chat"]} or unix:path=/run/netlab/chat.sock.
"""

EPILOG = """\
At a terminal, chat and doctor print server lines as they arrive while you type.
An empty line or Ctrl-D leaves politely (chat sends /quit, doctor says bye);
Ctrl-C leaves at once.  With piped input they send each line and exit once the
doctor has answered the last one, or once the chat server has processed /quit.

Exit status: 0 on success (also when the server closes the connection),
1 for connection failures, 2 for usage errors, 130 after Ctrl-C.
"""

CONVERSATION_EPILOG = """\
Interactive keys: Enter sends the line; an empty line or Ctrl-D leaves politely;
Ctrl-C leaves at once; Backspace, Ctrl-U (erase line), Ctrl-W (erase word) and
Ctrl-L (redraw) edit the line.  Piped input is sent line by line; blank lines
are skipped.
"""


def positiveFloat(text: str) -> float:
    """
    argparse type: a number of seconds greater than zero.
    """
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def nonNegativeFloat(text: str) -> float:
    """
    argparse type: a number of seconds, zero allowed.
    """
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _float(text: str) -> float:
    """
    Parse a finite number or raise the error argparse shows as a usage message.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def portNumber(text: str) -> int:
    """
    argparse type: a TCP/UDP port, 1 to 65535.
    """
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 1-65535: {text!r}")
    return port


def nickName(text: str) -> str:
    """
    argparse type: a nickname; spaces or control characters could smuggle in other commands.
    """
    if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise argparse.ArgumentTypeError(f"a nickname is one word without spaces: {text!r}")
    return text


def _addCommon(parser: argparse.ArgumentParser, defaultPort: int) -> None:
    """
    Add the options every sub-command shares: where to connect and how long to wait.
    """
    parser.add_argument(
        "host", nargs="?", default=None, metavar="HOST",
        help="server host name or IPv4/IPv6 address (default: localhost)",
    )
    parser.add_argument(
        "-p", "--port", type=portNumber, default=None,
        help=f"server port (default: {defaultPort})",
    )
    parser.add_argument(
        "--connect", metavar="ENDPOINT", default=None,
        help="a Twisted client endpoint string instead of HOST/--port, e.g. "
        f"'tcp:host=example.org:port={PORTS['chat']}', 'tls:example.org:{PORTS['chat']}', "
        "'unix:path=/tmp/chat.sock'",
    )
    parser.add_argument(
        "--timeout", type=positiveFloat, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help="give up connecting after this long; for daytime, the whole exchange; for the doctor, "
        "also the longest wait for an owed reply (default: %(default)g)",
    )
    parser.set_defaults(defaultPort=defaultPort, commandParser=parser)


def _addGrace(parser: argparse.ArgumentParser) -> None:
    """
    Add --grace, the wait for the server to close after the farewell.
    """
    parser.add_argument(
        "--grace", type=nonNegativeFloat, default=DEFAULT_GRACE, metavar="SECONDS",
        help="after leaving (farewell sent, replies received) wait this long for the server to "
        "close before closing ourselves (default: %(default)g)",
    )


def buildParser(version: str) -> argparse.ArgumentParser:
    """
    Build the C{netlab} argument parser with its three sub-commands.
    """
    parser = argparse.ArgumentParser(
        prog="netlab", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"netlab {version}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    daytime = commands.add_parser(
        "daytime", help="print the date and time a Day/Time server sends (RFC 867)",
        description="Connect to a Day/Time server, print what it sends, exit 0.",
    )
    _addCommon(daytime, PORTS["daytime"])
    daytime.add_argument(
        "--udp", action="store_true",
        help="ask over UDP (one datagram each way) instead of TCP; not with --connect",
    )

    chat = commands.add_parser(
        "chat", help="join a chat room", epilog=CONVERSATION_EPILOG,
        description="Join the chat room: lines you type go to everyone; others' lines appear as "
        "they arrive.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _addCommon(chat, PORTS["chat"])
    chat.add_argument("--nick", type=nickName, default=None, metavar="NAME",
                      help="send '/nick NAME' right after connecting")
    _addGrace(chat)

    doctor = commands.add_parser(
        "doctor", help="talk to the ELIZA Doctor", epilog=CONVERSATION_EPILOG,
        description="Talk to the Doctor: every line you send gets one reply.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _addCommon(doctor, PORTS["doctor"])
    _addGrace(doctor)
    return parser


def parseArgs(argv: Sequence[str] | None, version: str) -> argparse.Namespace:
    """
    Parse C{argv} (default: C{sys.argv[1:]}), filling in defaults and rejecting conflicts.

    Conflicting options exit with status 2 and a usage message, like every argparse error.
    """
    parser = buildParser(version)
    args = parser.parse_args(argv)
    sub = args.commandParser
    del args.commandParser
    if args.connect is not None and (args.host is not None or args.port is not None):
        sub.error("--connect replaces HOST and --port; give one or the other")
    if getattr(args, "udp", False) and args.connect is not None:
        sub.error("--udp cannot be combined with --connect (endpoint strings are stream-only)")
    if args.connect is not None and not args.connect.strip():
        sub.error("--connect needs an endpoint string")
    if args.host is None:
        args.host = "localhost"
    if args.port is None:
        args.port = args.defaultPort
    return args
