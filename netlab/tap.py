"""
twistd plugin for netlab: C{twistd -n netlab [--daytime EP] [--chat EP] [--doctor EP] ...}

Each service option takes a port number (TCP on all interfaces, as other twistd
plugins do) or any Twisted server endpoint string: C{tcp:21566:interface=127.0.0.1},
C{tcp6:21566}, C{unix:/tmp/daytime.sock}, C{ssl:21566:privateKey=key.pem}, ...
With no service option, every service starts on its default port; with some,
only those start.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from twisted.application.internet import UDPServer
from twisted.application.service import IService
from twisted.internet import endpoints
from twisted.internet.protocol import Factory
from twisted.python import usage

from netlab.daytime import DEFAULT_UDP_RATE, DaytimeDatagramProtocol, DaytimeFactory, formatter
from netlab.framing import BARE_DELAY, MAX_LINE
from netlab.guard import GuardFactory
from netlab.ratelimit import Rate
from netlab.server import Listener, NetlabService

#: The services, their default ports, and what they are.
SERVICES = {
    "daytime": (21566, "Day/Time service (RFC 867): the date and time, then close"),
    "doctor": (21567, "the Doctor: a 1966 ELIZA therapist"),
    "chat": (21568, "the Chat room"),
}

_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgG]?)[iI]?[bB]?\s*$")
_UDP = re.compile(r"^(?:(?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^:]+)):)?(?P<port>\d+)$")


#: Listen queue for stream endpoints whose description does not set one.  With
#: Twisted's default of 50 the kernel drops connection attempts (ListenOverflows)
#: as soon as ~128 clients connect at once; Linux caps it at net.core.somaxconn.
DEFAULT_BACKLOG = 1024
_BACKLOG_KINDS = ("tcp", "tcp6", "ssl", "unix")


def endpointDescription(value: str) -> str:
    """
    Coerce a bare port number to C{tcp:PORT} (C{endpoints.serverFromString}
    rejects a bare number) and give stream endpoints netlab's listen backlog
    unless the description sets its own.
    """
    value = value.strip()
    if value.isdigit():
        port = int(value)
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is out of range (0-65535)")
        value = f"tcp:{port}"
    if value.split(":", 1)[0] in _BACKLOG_KINDS and "backlog=" not in value:
        value += f":backlog={DEFAULT_BACKLOG}"
    return value


def checkEndpoint(value: str) -> str:
    """
    Parse an endpoint option the way the daemon will, so that a bad one is
    refused before anything starts (this also loads TLS keys and certificates).
    """
    description = endpointDescription(value)
    try:
        endpoints.serverFromString(None, description)
    except Exception as e:
        detail = str(e).strip() or type(e).__name__
        raise ValueError(f"{value!r} is not a port number or server endpoint ({detail})") from None
    return description


def parseSize(value: str) -> int:
    """
    Parse a byte count with an optional K/M/G suffix (powers of 1024).
    """
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a size like 65536, 64K or 1M")
    number, suffix = match.groups()
    return int(number) * 1024 ** " kmg".index(suffix.lower() or " ")


def parseUDP(value: str) -> tuple[str, int]:
    """
    Parse C{PORT}, C{HOST:PORT} or C{[V6HOST]:PORT} for the UDP Day/Time service.
    """
    match = _UDP.match(value.strip())
    if match is None or not 0 <= int(match["port"]) <= 65535:
        raise ValueError(f"{value!r} is not PORT, HOST:PORT or [IPV6]:PORT")
    return match["v6"] or match["v4"] or "", int(match["port"])


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"{value!r} is negative")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise ValueError(f"{value!r} is not a number of seconds")
    return number


def _positive(parse: Callable[[str], float]) -> Callable[[str], float]:
    def positive(value: str) -> float:
        number = parse(value)
        if number <= 0:
            raise ValueError(f"{value!r} must be more than 0")
        return number

    return positive


def _timeFormat(value: str) -> str:
    formatter(value)
    return value


#: option name -> (default, how to parse and check a value, help text)
PARAMETERS: dict[str, tuple[str | None, Callable, str]] = {
    "daytime": (
        None,
        checkEndpoint,
        "Day/Time endpoint, e.g. 21566 or tcp:21566:interface=127.0.0.1",
    ),
    "daytime-udp": (
        None,
        parseUDP,
        "also answer Day/Time over UDP on [HOST:]PORT (off by default)",
    ),
    "daytime-format": ("ctime", _timeFormat, "ctime, rfc3339 (UTC) or a strftime pattern"),
    "daytime-udp-rate": (DEFAULT_UDP_RATE, Rate.parse, "UDP replies per source address, N/s,BURST"),
    "chat": (None, checkEndpoint, "Chat endpoint, e.g. 21568"),
    "chat-history": ("20", _count, "room messages replayed to newcomers (0: none)"),
    "chat-operator": (None, str, "operator console: stdio: or an endpoint like unix:PATH:mode=600"),
    "chat-sendq": (
        "1M",
        _positive(parseSize),
        "unsent bytes a chat client may owe before it is dropped",
    ),
    "chat-rate": ("5/s,20", Rate.parse, "lines per chat client, N/s,BURST (0: no limit)"),
    "doctor": (None, checkEndpoint, "Doctor endpoint, e.g. 21567"),
    "doctor-script": (None, str, "the Doctor's script, in Weizenbaum's 1966 notation"),
    "max-line": (str(MAX_LINE), _positive(parseSize), "longest message accepted, in bytes"),
    "bare-delay": (
        str(BARE_DELAY),
        _positive(_seconds),
        "seconds after which an unterminated message is complete",
    ),
    "idle-timeout": ("1800", _seconds, "close chat/doctor clients idle this long (0: never)"),
    "max-connections": ("10000", _count, "simultaneous connections per service (0: no limit)"),
    "max-per-peer": ("256", _count, "simultaneous connections per IP address (0: no limit)"),
}


class Options(usage.Options):
    """
    Command-line options for C{twistd netlab}.
    """

    synopsis = "[--daytime EP] [--chat EP] [--doctor EP] [options]"
    longdesc = (
        "Serves the classic networking-course services. EP is a port number or a Twisted "
        "server endpoint string (tcp:PORT:interface=ADDR, tcp6:PORT, unix:PATH, ssl:PORT:"
        "privateKey=KEY:certKey=CERT). With no service option, all services start on their "
        "default ports: "
        + ", ".join(f"{name} {port}" for name, (port, _) in SERVICES.items())
        + "."
    )
    optParameters = [[name, None, default, text] for name, (default, _, text) in PARAMETERS.items()]

    def parseOptions(self, options: list[str] | None = None) -> None:
        """
        Under twistd, report a bad value as one line (twistd would print its whole
        help text before it); used directly, raise L{usage.UsageError} as usual.
        """
        try:
            super().parseOptions(options)
        except usage.UsageError as e:
            if getattr(self, "parent", None) is None:
                raise
            raise SystemExit(f"twistd netlab: {e}") from None

    def postOptions(self) -> None:
        for name, (_, parse, _) in PARAMETERS.items():
            if self[name] is None:
                continue
            try:
                self[name] = parse(self[name])
            except (ValueError, OverflowError) as e:
                raise usage.UsageError(f"--{name}: {e}") from None
        self._checkDoctorScript()
        if not any(self[name] is not None for name in (*SERVICES, "daytime-udp")):
            for name, (port, _) in SERVICES.items():
                self[name] = endpointDescription(str(port))

    def _checkDoctorScript(self) -> None:
        """
        Load the Doctor's script now, so a bad one stops the daemon before it starts.
        """
        path = self["doctor-script"]
        if path is None:
            return
        from netlab.doctor import ScriptError, load_script

        try:
            self["doctor-script"] = load_script(path)
        except OSError as e:
            raise usage.UsageError(f"--doctor-script: cannot read {path}: {e.strerror}") from None
        except ScriptError as e:
            raise usage.UsageError(f"--doctor-script: {e}") from None

    def services(self) -> list[str]:
        """
        The names of the stream services to start.
        """
        return [name for name in SERVICES if self[name] is not None]


def _daytimeFactory(config: Options, reactor) -> Factory:
    return DaytimeFactory(reactor, config["daytime-format"])


def _chatFactory(config: Options, reactor) -> Factory:
    from netlab.chat import ChatFactory

    return ChatFactory.fromOptions(config, reactor)


def _doctorFactory(config: Options, reactor) -> Factory:
    from netlab.doctor.service import DoctorFactory

    return DoctorFactory.fromOptions(config, reactor)


_FACTORIES = {"daytime": _daytimeFactory, "chat": _chatFactory, "doctor": _doctorFactory}


def makeService(config: Options, reactor=None) -> IService:
    """
    Build every requested service as children of one L{NetlabService}.
    """
    if reactor is None:
        from twisted.internet import reactor
    top = NetlabService(reactor)
    for name in config.services():
        description = config[name]
        factory = _FACTORIES[name](config, reactor)
        guarded = GuardFactory(
            factory,
            name,
            reactor,
            maxConnections=config["max-connections"],
            maxPerPeer=config["max-per-peer"],
        )
        endpoint = endpoints.serverFromString(reactor, description)
        listener = Listener(f"--{name} {description}", endpoint, guarded)
        listener.setName(name)
        listener.setServiceParent(top)
    if config["chat"] is not None and config["chat-operator"] is not None:
        from netlab.chat import operatorService

        operatorService(
            config["chat-operator"], top.getServiceNamed("chat"), reactor
        ).setServiceParent(top)
    if config["daytime-udp"] is not None:
        interface, port = config["daytime-udp"]
        protocol = DaytimeDatagramProtocol(
            reactor, config["daytime-format"], config["daytime-udp-rate"]
        )
        udp = UDPServer(port, protocol, interface=interface, reactor=reactor)
        udp.option = f"--daytime-udp {interface}:{port}" if interface else f"--daytime-udp {port}"
        udp.setName("daytime-udp")
        udp.setServiceParent(top)
    return top
