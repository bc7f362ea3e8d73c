"""
twistd plugin for netlab: C{twistd -n netlab [--daytime EP] [--chat EP] [--doctor EP] ...}

Each service option takes a port number (IPv6 and IPv4 on all interfaces) or any
Twisted server endpoint string: C{tcp:21566:interface=127.0.0.1}, C{tcp6:21566},
C{unix:/tmp/daytime.sock}, C{ssl:21566:privateKey=key.pem}, ...  A service
option may be given more than once; the service then listens on every endpoint
given.  With no service option, every service starts on its default port; with
some, only those start.  C{--daytime-udp} adds UDP to whatever else runs.

This is the only module that knows the options' names; what the values mean
is L{netlab.endpoints} (addresses) and L{netlab.values} (sizes, durations, counts).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from twisted.application.service import IService
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory
from twisted.python import usage

from netlab.accesslog import AccessLog
from netlab.chat import ADDRESS_BYTES, ADDRESS_RATE, HISTORY, RATE, SENDQ, ChatFactory
from netlab.chat.shared import DEFAULT_ROOM, HOLD, ROOM_NAME, clientInstalled
from netlab.chat.shared.address import RedisAddress
from netlab.chat.shared.interfaces import IRoomLog
from netlab.chat.shared.room import SharedRoom
from netlab.console import operatorService
from netlab.daytime import TIME_FORMAT, DaytimeFactory, formatter
from netlab.doctor import ScriptError, loadScript
from netlab.doctor.service import ADDRESS_RATE as DOCTOR_ADDRESS_RATE
from netlab.doctor.service import RATE as DOCTOR_RATE
from netlab.doctor.service import DoctorFactory
from netlab.endpoints import checkEndpoint, isLocalOnly, parseUDP, udpInterfaces
from netlab.fairness import TurnBudget
from netlab.fanout import ParallelSend
from netlab.framing import BARE_DELAY, IDLE_TIMEOUT, MAX_LINE
from netlab.guard import HANDSHAKE_TIMEOUT, MAX_CONNECTIONS, MAX_PER_PEER, GuardFactory
from netlab.lab import LabFaults, LabProtocol, parseLab
from netlab.logthrottle import ThrottledLog
from netlab.monitor import ConnectionMonitor
from netlab.ports import PORTS
from netlab.ratelimit import Rate
from netlab.server import NetlabService, ServiceListeners
from netlab.simple import PROTOCOLS, SimpleFactory
from netlab.udp import DEFAULT_RATE, GuardedDatagramProtocol, UDPGuard, UDPListener, replies
from netlab.values import (
    atMost,
    count,
    formatDuration,
    formatSize,
    parseDuration,
    parseSize,
    positive,
    zeroOrAtLeast,
)
from netlab.web.dashboard import dashboardSite
from netlab.web.public import publicSite

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
    "web": (PORTS["web"], "the web page: the time, the Chat room and the Doctor in a browser"),
    "dashboard": (
        PORTS["dashboard"],
        "the teacher's dashboard: every connection, events, wire traces",
    ),
}

#: Where a service listens by default, where that is not every interface: the
#: dashboard shows every conversation, so by default only this machine sees it.
DEFAULT_ENDPOINTS = {"dashboard": f"tcp:{PORTS['dashboard']}:interface=127.0.0.1"}

#: The services that run in a browser, and the services they serve there.
WEB = ("web", "dashboard")

#: Services that add to the others instead of choosing them: C{--dashboard EP}
#: alone still starts every service (a dashboard with nothing to watch would
#: be no use), as C{--daytime-udp} does.
ADDITIVE = ("dashboard",)

#: The services that also answer over UDP when asked (--NAME-udp [HOST:]PORT).
UDP_SERVICES = ("daytime", "echo", "discard", "chargen", "qotd", "time")

#: Options that mean something only while a service runs: option -> the
#: services, any of which makes it meaningful.
NEEDS = {
    "daytime-format": ("daytime", "daytime-udp", "web"),
    "udp-rate": tuple(f"{name}-udp" for name in UDP_SERVICES),
    "doctor-script": ("doctor", "web"),
    "doctor-rate": ("doctor", "web"),
    "doctor-address-rate": ("doctor", "web"),
    "chat-history": ("chat", "web"),
    "chat-operator": ("chat", "web"),
    "chat-sendq": ("chat", "web"),
    "chat-rate": ("chat", "web"),
    "chat-address-rate": ("chat", "web"),
    "chat-address-bytes": ("chat", "web"),
    "chat-redis": ("chat", "web"),
    "chat-threads": ("chat", "web"),
    "chat-room": ("chat-redis",),
    "chat-redis-hold": ("chat-redis",),
    "dashboard-token": ("dashboard",),
    "trace": ("dashboard",),
}

#: Options that may be given more than once; their value is a list.
REPEATABLE = (*SERVICES, *(f"{name}-udp" for name in UDP_SERVICES), "lab")

#: The services with a greeting, in which lab faults are announced.
GREETING = ("chat", "doctor")


def _token(value: str) -> str:
    if len(value) < 8 or not value.isprintable() or " " in value:
        raise ValueError("a token is at least 8 characters, no spaces")
    return value


def _redisAddress(value: str) -> RedisAddress:
    address = RedisAddress.parse(value)
    if not clientInstalled():
        raise ValueError("the Redis client is not installed: pip install 'netlab[redis]'")
    return address


def _roomName(value: str) -> str:
    if ROOM_NAME.fullmatch(value) is None:
        raise ValueError("a room name is 1-64 letters, digits, '.', '_' or '-'")
    return value


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
    "daytime-format": (TIME_FORMAT, _timeFormat, "ctime, rfc3339 (UTC) or a strftime pattern"),
    "chat": (None, checkEndpoint, "Chat endpoint, e.g. 21568 (repeatable)"),
    "chat-history": (
        str(HISTORY),
        atMost(10_000, count),
        "room messages replayed to newcomers (0: none; at most 10000)",
    ),
    "chat-operator": (None, str, "operator console: stdio: or an endpoint like unix:PATH:mode=600"),
    "chat-sendq": (
        formatSize(SENDQ),
        positive(parseSize),
        "unsent bytes a chat client may owe before it is dropped",
    ),
    "chat-rate": (
        str(RATE),
        Rate.parse,
        "lines per chat client, N/s,BURST; beyond it they wait (0: no limit)",
    ),
    "chat-address-rate": (
        str(ADDRESS_RATE),
        Rate.parse,
        "lines into the room per IP address, over all its clients, N/s,BURST (0: no limit)",
    ),
    "chat-address-bytes": (
        formatSize(ADDRESS_BYTES),
        parseSize,
        "bytes a second into the room per IP address, over all its clients (0: no limit)",
    ),
    "chat-threads": (
        "0",
        atMost(64, count),
        "threads that share sending a line to a big room (0: one per CPU, at most 4; 1: none)",
    ),
    "chat-redis": (
        None,
        _redisAddress,
        "one room across daemons, kept in Redis: redis://[:PASSWORD@]HOST[:PORT][/DB], "
        "rediss://... (TLS) or unix:///PATH",
    ),
    "chat-room": (DEFAULT_ROOM, _roomName, "the shared room's name in Redis (with --chat-redis)"),
    "chat-redis-hold": (
        str(HOLD),
        positive(count),
        "lines that may wait while Redis is out of reach; past them, ERR (with --chat-redis)",
    ),
    "doctor": (None, checkEndpoint, "Doctor endpoint, e.g. 21567 (repeatable)"),
    "doctor-script": (None, str, "the Doctor's script, in Weizenbaum's 1966 notation"),
    "doctor-rate": (
        str(DOCTOR_RATE),
        Rate.parse,
        "messages per Doctor client, N/s,BURST; beyond it they wait (0: no limit)",
    ),
    "doctor-address-rate": (
        str(DOCTOR_ADDRESS_RATE),
        Rate.parse,
        "messages to the Doctor per IP address, over all its clients, N/s,BURST (0: no limit)",
    ),
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
    "web": (None, checkEndpoint, "web page endpoint, e.g. 21569 (repeatable)"),
    "dashboard": (
        None,
        checkEndpoint,
        f"teacher's dashboard endpoint (default {DEFAULT_ENDPOINTS['dashboard']}; "
        "elsewhere it needs --dashboard-token) (repeatable)",
    ),
    "dashboard-token": (
        None,
        _token,
        "the dashboard's password, at least 8 characters: open /?token=TOKEN",
    ),
    "trace": (
        "0",
        atMost(1 << 20, parseSize, formatSize),
        "keep the last SIZE bytes each way of every connection for the dashboard "
        "(e.g. 4K; at most 1M; 0: off)",
    ),
    "udp-rate": (
        str(DEFAULT_RATE),
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
        atMost(16 << 20, positive(parseSize), formatSize),
        "longest message accepted, in bytes (at most 16M)",
    ),
    "bare-delay": (
        str(BARE_DELAY),
        positive(parseDuration),
        "quiet time after which an unterminated message is complete (0.1, 250ms)",
    ),
    "idle-timeout": (
        formatDuration(IDLE_TIMEOUT),
        parseDuration,
        "close chat/doctor/echo/discard clients idle this long (90, 30m, 1h; 0: never)",
    ),
    "handshake-timeout": (
        formatDuration(HANDSHAKE_TIMEOUT),
        zeroOrAtLeast(1.0, parseDuration),
        "cut a TLS connection whose handshake is not done this soon (0: never)",
    ),
    "max-connections": (
        str(MAX_CONNECTIONS),
        count,
        "simultaneous connections per service (0: no limit)",
    ),
    "max-per-peer": (
        str(MAX_PER_PEER),
        count,
        "simultaneous connections per IP address (0: no limit)",
    ),
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
            raise SystemExit(f"netlab: {e}") from None

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
        if not any(self[name] for name in SERVICES if name not in ADDITIVE):
            for name, (port, _) in SERVICES.items():
                if self[name]:
                    continue
                default = DEFAULT_ENDPOINTS.get(name, str(port))
                self[name] = [(default, d) for d in checkEndpoint(default)]
        self._checkLab()
        for name, services in NEEDS.items():
            if name in self.given and not any(self[service] for service in services):
                if services == ("chat-redis",):
                    raise usage.UsageError(f"--{name}: only with --chat-redis URL")
                wanted = " or ".join(f"--{service}" for service in services)
                raise usage.UsageError(
                    f"--{name}: the service it applies to is not running (add {wanted} EP, "
                    "or give no service option to run them all)"
                )
        self._checkDoctorScript()
        self._checkDashboard()

    def _checkDashboard(self) -> None:
        """
        A dashboard other machines may reach needs a token.
        """
        if self["dashboard-token"] is not None:
            return
        for typed, description in self["dashboard"] or []:
            if not isLocalOnly(description):
                raise usage.UsageError(
                    f"--dashboard {typed}: other machines could reach the dashboard, which "
                    "shows every conversation: give --dashboard-token TOKEN, or listen on "
                    "this machine only (tcp:PORT:interface=127.0.0.1, ::1, or unix:PATH)"
                )

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
        those for this one, merged in order; L{None} for none.  A browser
        needs whole pages, so faults for all services leave the web ones be.
        """
        faults = None
        for _, (name, more) in self["lab"] or []:
            if name == service or (name is None and service not in WEB):
                faults = more if faults is None else faults.merged(more)
        return faults

    def _checkDoctorScript(self) -> None:
        """
        Load the Doctor's script now, so a bad one stops the daemon before it starts.
        """
        path = self["doctor-script"]
        if path is None:
            return
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


def _chatFactory(
    config: Options, reactor, roomLog: IRoomLog | None = None, sender: ParallelSend | None = None
) -> Factory:
    room = None
    if roomLog is not None:
        room = SharedRoom(
            reactor,
            roomLog,
            config["chat-history"],
            idleTimeout=config["idle-timeout"],
            sender=sender,
        )
    return ChatFactory(
        reactor,
        room=room,
        history=config["chat-history"],
        sendq=config["chat-sendq"],
        rate=config["chat-rate"],
        addressRate=config["chat-address-rate"],
        addressBytes=config["chat-address-bytes"],
        sender=sender,
        **_framing(config),
    )


def _doctorFactory(config: Options, reactor) -> Factory:
    return DoctorFactory(
        reactor,
        config["doctor-script"],
        rate=config["doctor-rate"],
        addressRate=config["doctor-address-rate"],
        **_framing(config),
    )


def _simpleFactory(name: str) -> Callable[[Options, object], Factory]:
    def build(config: Options, reactor) -> Factory:
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
    # What every service shares: one address's share of each reactor turn,
    # over all its connections to all the conversational services
    # (netlab.fairness); one view of every connection, which also logs
    # refusals and limits (netlab.monitor); one access log, whose batches of
    # connection lines are written last when the daemon stops, and before any
    # warning, which might be about one of their connections (netlab.accesslog).
    budget = TurnBudget(reactor)
    accessLog = AccessLog(reactor)
    accessLog.setServiceParent(top)
    watched = bool(config["dashboard"])  # (counts and events cost memory: only for a dashboard)
    monitor = ConnectionMonitor(
        reactor,
        ThrottledLog(reactor, before=accessLog.flush),
        traceSize=config["trace"],
        counting=watched,
    )
    factories: dict[str, Factory] = {}
    roomLog = _sharedRoomLog(config, reactor, top)

    def factory(name: str) -> Factory:
        if name not in factories:
            if name == "web":  # its members are the chat's and the Doctor's
                built = publicSite(
                    reactor, factory("chat"), factory("doctor"), config["daytime-format"]
                )
            elif name == "dashboard":
                built = dashboardSite(reactor, monitor, config["dashboard-token"])
            elif name == "chat":
                sender = ParallelSend(config["chat-threads"])
                sender.setName("chat sending")
                sender.setServiceParent(top)  # (stops its threads with the daemon)
                built = _chatFactory(config, reactor, roomLog, sender)
            else:
                built = serviceFactory(name, config, reactor)
            if hasattr(built, "turnBudget"):
                built.turnBudget = budget
            factories[name] = built
        return factories[name]

    for name in config.services():
        faults = config.labFaults(name)
        guarded = GuardFactory(
            factory(name),
            name,
            reactor,
            accessLog=accessLog,
            monitor=monitor,
            maxConnections=config["max-connections"],
            maxPerPeer=config["max-per-peer"],
            handshakeTimeout=config["handshake-timeout"],
            protocol=None if faults is None else partial(
                LabProtocol, faults=faults, announce=name in GREETING
            ),
        )
        guarded.connectionEvents = name != "dashboard"
        listeners = ServiceListeners(name, guarded)
        for typed, description in config.endpoints(name):
            endpoint = serverFromString(reactor, description)
            listeners.add(f"--{name} {typed}", endpoint, description)
        listeners.setServiceParent(top)
    if "chat" in factories and config["chat-operator"] is not None:
        operatorService(config["chat-operator"], factories["chat"], reactor).setServiceParent(top)
    _addUDP(config, reactor, top)
    if probe:
        top.probe()
    return top


def _sharedRoomLog(config: Options, reactor, top: NetlabService) -> IRoomLog | None:
    """
    With C{--chat-redis}, the link to the shared room's log in Redis: it
    starts before the listeners and stops after them.
    """
    address = config["chat-redis"]
    if address is None:
        return None
    from netlab.chat.shared.redislog import RedisRoomLog  # (txredisapi: an extra)

    roomLog = RedisRoomLog(address, reactor, config["chat-room"], config["chat-redis-hold"])
    roomLog.option = f"--chat-redis {address}"
    roomLog.setServiceParent(top)
    return roomLog


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
    for name, endpoints_ in wanted:
        for typed, (interface, port) in endpoints_:
            for address in udpInterfaces(interface):
                protocol = GuardedDatagramProtocol(name, reply[name], guard)
                option = f"--{name}-udp {typed}"
                UDPListener(option, port, protocol, address, reactor).setServiceParent(top)
