"""
twistd plugin for netlab: C{twistd -n netlab [--daytime EP] [--chat EP] [--doctor EP] ...}

Each service option takes a port number (IPv6 and IPv4 on all interfaces) or any
Twisted server endpoint string: C{tcp:21566:interface=127.0.0.1}, C{tcp6:21566},
C{unix:/tmp/daytime.sock}, C{ssl:21566:privateKey=key.pem}, ...  A service
option may be given more than once; the service then listens on every endpoint
given.  With no service option, every service starts on its default port; with
some, only those start.  C{--daytime-udp} adds UDP to whatever else runs.

This is the only module that knows the options' names.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from functools import cache, partial

from twisted.application.service import IService
from twisted.internet import endpoints
from twisted.internet.protocol import Factory
from twisted.python import usage

from netlab.daytime import DaytimeFactory, formatter
from netlab.fairness import TurnBudget
from netlab.framing import BARE_DELAY, MAX_LINE
from netlab.guard import GuardFactory
from netlab.lab import LabFaults, LabProtocol, parseLab
from netlab.ports import PORTS
from netlab.ratelimit import Rate
from netlab.server import NetlabService, ServiceListeners
from netlab.udp import DEFAULT_RATE, GuardedDatagramProtocol, UDPGuard, UDPListener, replies

#: The stream services, their default ports, and what they are.
SERVICES = {
    "daytime": (PORTS["daytime"], "Day/Time (RFC 867): the date and time, then close"),
    "doctor": (PORTS["doctor"], "the Doctor: a 1966 ELIZA therapist"),
    "chat": (PORTS["chat"], "the Chat room"),
    "echo": (PORTS["echo"], "Echo (RFC 862): sends back what it gets"),
    "discard": (PORTS["discard"], "Discard (RFC 863): reads and throws away"),
    "chargen": (
        PORTS["chargen"],
        "Character Generator (RFC 864): rotating lines for as long as you read",
    ),
    "qotd": (PORTS["qotd"], "Quote of the Day (RFC 865): one quote, then close"),
    "time": (PORTS["time"], "Time (RFC 868): seconds since 1900 as 4 bytes, then close"),
}

#: The services that also answer over UDP when asked (--NAME-udp [HOST:]PORT).
UDP_SERVICES = ("daytime", "echo", "discard", "chargen", "qotd", "time")

#: Options that mean something only while a service runs: option -> the
#: services, any of which makes it meaningful.
NEEDS = {
    "daytime-format": ("daytime", "daytime-udp"),
    "udp-rate": tuple(f"{name}-udp" for name in UDP_SERVICES),
    "doctor-script": ("doctor",),
    "chat-history": ("chat",),
    "chat-operator": ("chat",),
    "chat-sendq": ("chat",),
    "chat-rate": ("chat",),
}

#: Options that may be given more than once; their value is a list.
REPEATABLE = (*SERVICES, *(f"{name}-udp" for name in UDP_SERVICES), "lab")

#: The services with a greeting, in which lab faults are announced.
GREETING = ("chat", "doctor")

_SIZE = re.compile(r"^\s*([0-9]+)\s*([kKmMgG]?)[iI]?[bB]?\s*$")
_UDP = re.compile(r"^(?:(?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^:]+)):)?(?P<port>\d+)$", re.ASCII)
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms|[smhd]?)", re.IGNORECASE)
_UNITS = {"ms": 0.001, "": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

#: Listen queue for stream endpoints whose description does not set one.  With
#: Twisted's default of 50 the kernel drops connection attempts (ListenOverflows)
#: as soon as ~128 clients connect at once; Linux caps it at net.core.somaxconn.
DEFAULT_BACKLOG = 1024
_BACKLOG_KINDS = ("tcp", "tcp6", "ssl", "unix")

#: Endpoint kinds that need an optional extra, and the module that shows it is there.
_EXTRAS = {"ssl": ("tls", "OpenSSL"), "tls": ("tls", "OpenSSL")}


@cache
def ipv6Listening() -> tuple[bool, bool]:
    """
    Whether this host can listen on IPv6, and whether an IPv6 socket then also
    takes IPv4 connections (Linux's C{net.ipv6.bindv6only} is 0, the default).
    """
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::", 0))
            v6only = probe.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
    except (OSError, AttributeError):
        return False, False
    return True, not v6only


def endpointDescriptions(value: str) -> list[str]:
    """
    The endpoint descriptions an option value means.  A bare port number is
    every interface, IPv6 and IPv4 alike where the host has IPv6 (C{tcp6:PORT},
    dual stack; C{tcp6:PORT} and C{tcp:PORT} where IPv6 sockets are IPv6-only),
    else C{tcp:PORT}.  Stream endpoints get netlab's listen backlog unless the
    description sets its own.
    """
    value = value.strip()
    if any(c.isdigit() and not c.isascii() for c in value):
        raise ValueError(f"{value!r}: write numbers with the digits 0-9")
    if value.isascii() and value.isdigit():
        port = int(value)
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is out of range (0-65535)")
        v6, dualStack = ipv6Listening()
        kinds = ["tcp6"] if dualStack else ["tcp6", "tcp"] if v6 else ["tcp"]
        return [withBacklog(f"{kind}:{port}") for kind in kinds]
    return [withBacklog(value)]


def withBacklog(description: str) -> str:
    """
    Give a stream endpoint description netlab's listen backlog unless it sets one.
    """
    if description.split(":", 1)[0] in _BACKLOG_KINDS and "backlog=" not in description:
        description += f":backlog={DEFAULT_BACKLOG}"
    return description


def checkEndpoint(value: str) -> list[str]:
    """
    Parse an endpoint option the way the daemon will, so that a bad one is
    refused before anything starts (this also loads TLS keys and certificates).
    Messages quote the value as the user typed it.
    """
    descriptions = endpointDescriptions(value)
    kind = value.strip().split(":", 1)[0].lower()
    if kind in _EXTRAS:
        extra, module = _EXTRAS[kind]
        try:
            __import__(module)
        except ImportError:
            raise ValueError(
                f"{value!r}: {kind}: endpoints need netlab's {extra!r} extra "
                f"(pip install 'netlab[{extra}]', or pip install '.[{extra}]' in a clone)"
            ) from None
    for description in descriptions:
        try:
            endpoints.serverFromString(None, description)
        except Exception as e:
            if kind == "systemd" and isinstance(e, (IndexError, KeyError)):
                raise ValueError(
                    f"{value!r}: systemd handed over no such socket; systemd: endpoints are "
                    "for a unit started by a .socket unit (LISTEN_FDS, LISTEN_FDNAMES)"
                ) from None
            detail = str(e).strip() or type(e).__name__
            raise ValueError(
                f"{value!r} is not a port number or server endpoint ({detail})"
            ) from None
    return descriptions


def parseSize(value: str) -> int:
    """
    Parse a byte count with an optional K/M/G suffix (powers of 1024).
    """
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a size like 65536, 64K or 1M")
    number, suffix = match.groups()
    return int(number) * 1024 ** " kmg".index(suffix.lower() or " ")


def parseDuration(value: str) -> float:
    """
    Parse a duration in seconds: C{90}, C{90s}, C{1.5}, C{250ms}, C{30m},
    C{1h}, C{2d}, or several together (C{1h30m}).
    """
    text = value.strip()
    parts = list(_DURATION.finditer(text))
    if not text or "".join(p.group(0) for p in parts).replace(" ", "") != text.replace(" ", ""):
        raise ValueError(f"{value!r} is not a duration like 90, 90s, 250ms, 30m or 1h")
    return sum(float(p.group(1)) * _UNITS[p.group(2).lower()] for p in parts)


def parseUDP(value: str) -> tuple[str, int]:
    """
    Parse C{PORT}, C{HOST:PORT} or C{[V6HOST]:PORT} for a UDP service.
    """
    match = _UDP.match(value.strip())
    if match is None or not 0 <= int(match["port"]) <= 65535:
        raise ValueError(f"{value!r} is not PORT, HOST:PORT or [IPV6]:PORT")
    return match["v6"] or match["v4"] or "", int(match["port"])


def _count(value: str) -> int:
    if not re.fullmatch(r"\s*-?[0-9]+\s*", value):
        raise ValueError(f"{value!r} is not a whole number")
    number = int(value)
    if number < 0:
        raise ValueError(f"{value!r} is negative")
    return number


def _zeroOrAtLeast(least: float, parse: Callable[[str], float]) -> Callable[[str], float]:
    def bounded(value: str) -> float:
        number = parse(value)
        if 0 < number < least:
            raise ValueError(f"{value!r} is less than {least:g} s (0 turns it off)")
        return number

    return bounded


def _atMost(limit: int, parse: Callable[[str], float]) -> Callable[[str], float]:
    def bounded(value: str) -> float:
        number = parse(value)
        if number > limit:
            raise ValueError(f"{value!r} is more than {limit}")
        return number

    return bounded


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
        "Day/Time endpoint, e.g. 21566 or tcp:21566:interface=127.0.0.1 (repeatable)",
    ),
    "daytime-format": ("ctime", _timeFormat, "ctime, rfc3339 (UTC) or a strftime pattern"),
    "chat": (None, checkEndpoint, "Chat endpoint, e.g. 21568 (repeatable)"),
    "chat-history": (
        "20",
        _atMost(10_000, _count),
        "room messages replayed to newcomers (0: none; at most 10000)",
    ),
    "chat-operator": (None, str, "operator console: stdio: or an endpoint like unix:PATH:mode=600"),
    "chat-sendq": (
        "1M",
        _positive(parseSize),
        "unsent bytes a chat client may owe before it is dropped",
    ),
    "chat-rate": ("5/s,20", Rate.parse, "lines per chat client, N/s,BURST (0: no limit)"),
    "doctor": (None, checkEndpoint, "Doctor endpoint, e.g. 21567 (repeatable)"),
    "doctor-script": (None, str, "the Doctor's script, in Weizenbaum's 1966 notation"),
    **{
        name: (None, checkEndpoint, f"{SERVICES[name][1]}; e.g. {SERVICES[name][0]} (repeatable)")
        for name in ("echo", "discard", "chargen", "qotd", "time")
    },
    **{
        f"{name}-udp": (
            None,
            parseUDP,
            f"also serve {name} over UDP on [HOST:]PORT (off by default; repeatable)",
        )
        for name in UDP_SERVICES
    },
    "udp-rate": (
        DEFAULT_RATE,
        Rate.parse,
        "replies per source address, over all UDP services, N/s,BURST (0: no limit)",
    ),
    "lab": (
        None,
        parseLab,
        "lab faults, for teaching: [SERVICE:]split=BYTES,delay=MS,coalesce[=MS] (repeatable)",
    ),
    "max-line": (
        str(MAX_LINE),
        _atMost(16 << 20, _positive(parseSize)),
        "longest message accepted, in bytes (at most 16M)",
    ),
    "bare-delay": (
        str(BARE_DELAY),
        _positive(parseDuration),
        "quiet time after which an unterminated message is complete (0.1, 250ms)",
    ),
    "idle-timeout": (
        "30m",
        parseDuration,
        "close chat/doctor/echo/discard clients idle this long (90, 30m, 1h; 0: never)",
    ),
    "handshake-timeout": (
        "10s",
        _zeroOrAtLeast(1.0, parseDuration),
        "cut a TLS connection whose handshake is not done this soon (0: never)",
    ),
    "max-connections": ("10000", _count, "simultaneous connections per service (0: no limit)"),
    "max-per-peer": ("256", _count, "simultaneous connections per IP address (0: no limit)"),
}


class Options(usage.Options):
    """
    Command-line options for C{twistd netlab}.

    @ivar given: the options named on the command line, as opposed to defaults.
    @ivar typed: for each repeatable option, the values as the user typed them.
        Parsed, a service option is a list of (value as typed, endpoint
        description) and a C{NAME-udp} option a list of (value as typed, (host, port)).
    """

    synopsis = "[--daytime EP] [--chat EP] [--doctor EP] [--echo EP] ... [options]"
    longdesc = (
        "Serves the classic networking-course services. EP is a port number (IPv6 and IPv4) or "
        "a Twisted server endpoint string (tcp:PORT:interface=ADDR, tcp6:PORT, unix:PATH, "
        "ssl:PORT:privateKey=KEY:certKey=CERT); a service option may be repeated. With no "
        "service option, all services start on their default ports: "
        + ", ".join(f"{name} {port}" for name, (port, _) in SERVICES.items())
        + "."
    )
    optParameters = [[name, None, default, text] for name, (default, _, text) in PARAMETERS.items()]

    def __init__(self) -> None:
        super().__init__()
        self.given: set[str] = set()
        self.typed: dict[str, list[str]] = {name: [] for name in REPEATABLE}
        for name in PARAMETERS:
            key = name.replace("-", "_") if name not in self._dispatch else name
            self._dispatch[key] = self._recorder(name)

    def _recorder(self, name: str) -> Callable[[str, str], None]:
        def record(_: str, value: str) -> None:
            if name in self.given and name not in REPEATABLE:
                raise usage.UsageError(f"--{name} is given twice (it takes one value)")
            self.given.add(name)
            if name in REPEATABLE:
                self.typed[name].append(value)
            else:
                self.opts[name] = value

        return record

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
            try:
                if name in SERVICES:
                    typed = self.typed[name]
                    self[name] = [(value, d) for value in typed for d in parse(value)] or None
                elif name in REPEATABLE:
                    self[name] = [(value, parse(value)) for value in self.typed[name]] or None
                elif self[name] is not None:
                    self[name] = parse(self[name])
            except (ValueError, OverflowError) as e:
                raise usage.UsageError(f"--{name}: {e}") from None
        if not any(self[name] for name in SERVICES):
            for name, (port, _) in SERVICES.items():
                self[name] = [(str(port), d) for d in endpointDescriptions(str(port))]
        self._checkLab()
        for name, services in NEEDS.items():
            if name in self.given and not any(self[service] for service in services):
                wanted = " or ".join(f"--{service}" for service in services)
                raise usage.UsageError(
                    f"--{name}: the service it applies to is not running (add {wanted} EP, "
                    "or give no service option to run them all)"
                )
        self._checkDoctorScript()

    def _checkLab(self) -> None:
        """
        Each C{--lab} names a running service, or none (every stream service).
        """
        for typed, (service, _) in self["lab"] or []:
            if service is not None and service not in SERVICES:
                raise usage.UsageError(f"--lab: {typed!r}: there is no service {service!r}")
            if service is not None and not self[service]:
                raise usage.UsageError(
                    f"--lab: {typed!r}: the {service} service is not running"
                )

    def labFaults(self, service: str) -> LabFaults | None:
        """
        The lab faults for C{service}: every C{--lab} for all services, then
        those for this one, merged in order; L{None} for none.
        """
        faults = None
        for _, (name, more) in self["lab"] or []:
            if name in (None, service):
                faults = more if faults is None else faults.merged(more)
        return faults

    def _checkDoctorScript(self) -> None:
        """
        Load the Doctor's script now, so a bad one stops the daemon before it starts.
        """
        path = self["doctor-script"]
        if path is None:
            return
        from netlab.doctor import ScriptError, loadScript

        try:
            self["doctor-script"] = loadScript(path)
        except OSError as e:
            raise usage.UsageError(f"--doctor-script: cannot read {path}: {e.strerror}") from None
        except ScriptError as e:
            raise usage.UsageError(f"--doctor-script: {e}") from None

    def services(self) -> list[str]:
        """
        The names of the stream services to start.
        """
        return [name for name in SERVICES if self[name]]

    def endpoints(self, name: str) -> list[tuple[str, str]]:
        """
        For service C{name}: (the value as typed, an endpoint description) for
        every endpoint it listens on.
        """
        return self[name] or []


def _daytimeFactory(config: Options, reactor) -> Factory:
    return DaytimeFactory(reactor, config["daytime-format"])


def _framing(config: Options) -> dict:
    """
    The framing limits of the conversational services, as keyword arguments.
    """
    return {
        "maxLineLength": config["max-line"],
        "bareDelay": config["bare-delay"],
        "idleTimeout": config["idle-timeout"],
    }


def _chatFactory(config: Options, reactor) -> Factory:
    from netlab.chat import ChatFactory

    return ChatFactory(
        reactor,
        history=config["chat-history"],
        sendq=config["chat-sendq"],
        rate=config["chat-rate"],
        **_framing(config),
    )


def _doctorFactory(config: Options, reactor) -> Factory:
    from netlab.doctor.service import DoctorFactory

    return DoctorFactory(reactor, config["doctor-script"], **_framing(config))


def _simpleFactory(name: str) -> Callable[[Options, object], Factory]:
    def build(config: Options, reactor) -> Factory:
        from netlab.simple import PROTOCOLS, SimpleFactory

        return SimpleFactory(PROTOCOLS[name], reactor, idleTimeout=config["idle-timeout"])

    return build


def serviceFactory(name: str, config: Options, reactor) -> Factory:
    """
    The factory of stream service C{name}, configured from C{config}.
    """
    return _FACTORIES[name](config, reactor)


_FACTORIES = {
    "daytime": _daytimeFactory,
    "chat": _chatFactory,
    "doctor": _doctorFactory,
    **{name: _simpleFactory(name) for name in ("echo", "discard", "chargen", "qotd", "time")},
}


def makeService(config: Options, reactor=None) -> IService:
    """
    Build every requested service as children of one L{NetlabService}.

    Run by twistd (no C{reactor} given), every address is also tried at once,
    so that a port in use stops the daemon before it forks into the background.
    """
    probe = reactor is None
    if reactor is None:
        from twisted.internet import reactor
    top = NetlabService(reactor)
    # One address's share of each reactor turn, over all its connections to
    # all the conversational services (netlab.fairness).
    budget = TurnBudget(reactor)
    factories = {}
    for name in config.services():
        faults = config.labFaults(name)
        factory = factories[name] = serviceFactory(name, config, reactor)
        if hasattr(factory, "turnBudget"):
            factory.turnBudget = budget
        guarded = GuardFactory(
            factory,
            name,
            reactor,
            maxConnections=config["max-connections"],
            maxPerPeer=config["max-per-peer"],
            handshakeTimeout=config["handshake-timeout"],
            protocol=None if faults is None else partial(
                LabProtocol, faults=faults, announce=name in GREETING
            ),
        )
        listeners = ServiceListeners(name, guarded)
        for typed, description in config.endpoints(name):
            endpoint = endpoints.serverFromString(reactor, description)
            listeners.add(f"--{name} {typed}", endpoint, description)
        listeners.setServiceParent(top)
    if config["chat"] and config["chat-operator"] is not None:
        from netlab.console import operatorService

        operatorService(config["chat-operator"], factories["chat"], reactor).setServiceParent(top)
    _addUDP(config, reactor, top)
    if probe:
        top.probe()
    return top


def _addUDP(config: Options, reactor, top: NetlabService) -> None:
    """
    Every UDP service asked for, all behind one L{UDPGuard}: one budget per
    source address, and no reply to a port netlab serves (so no loops between
    two of them, here or in another netlab).
    """
    wanted = [(name, config[f"{name}-udp"]) for name in UDP_SERVICES if config[f"{name}-udp"]]
    if not wanted:
        return
    ours = {port for port, _ in SERVICES.values()}
    ours |= {port for _, endpoints_ in wanted for _, (_, port) in endpoints_}
    guard = UDPGuard(reactor, config["udp-rate"], forbiddenPorts=ours)
    reply = replies(reactor, config["daytime-format"])
    v6, dualStack = ipv6Listening()
    for name, endpoints_ in wanted:
        for typed, (interface, port) in endpoints_:
            # A bare port is every interface, IPv6 and IPv4 alike, as for TCP.
            everywhere = ["::"] if dualStack else ["::", ""] if v6 else [""]
            for address in everywhere if interface == "" else [interface]:
                protocol = GuardedDatagramProtocol(name, reply[name], guard)
                option = f"--{name}-udp {typed}"
                UDPListener(option, port, protocol, address, reactor).setServiceParent(top)
