"""
Tests for the twistd plugin: L{netlab.tap.Options}, L{netlab.tap.makeService}
and the plugin's discovery.
"""

import gc
import io
import signal
import socket
import sys

from twisted.application.service import IServiceMaker
from twisted.internet.address import IPv4Address
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactorClock, _FakePort
from twisted.logger import capturedLogs, formatEvent
from twisted.plugin import getPlugins
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from netlab.chat import HISTORY, RATE, SENDQ
from netlab.daytime import TIME_FORMAT
from netlab.endpoints import endpointDescriptions, ipv6Listening
from netlab.framing import BARE_DELAY, IDLE_TIMEOUT, MAX_LINE
from netlab.guard import HANDSHAKE_TIMEOUT, MAX_CONNECTIONS, MAX_PER_PEER
from netlab.lab import LabFaults, LabProtocol
from netlab.ports import PORTS
from netlab.ratelimit import Rate
from netlab.server import EXTRA_STOP_SIGNALS, DaemonStartError, NetlabService, StartError
from netlab.tap import SERVICES, Options, makeService
from netlab.udp import DEFAULT_RATE


class UDPMemoryReactor(MemoryReactorClock):
    """
    A memory reactor that also records UDP listeners.
    """

    def __init__(self):
        super().__init__()
        self.udpServers = []

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        self.udpServers.append((port, protocol, interface, maxPacketSize))
        return _FakePort(IPv4Address("UDP", interface or "0.0.0.0", port))


def parse(*args):
    options = Options()
    options.parseOptions(list(args))
    return options


def bare(port):
    """
    What a bare port number means on this host (dual stack where it has IPv6).
    """
    return endpointDescriptions(str(port))


class OptionsTests(SynchronousTestCase):
    def test_defaultsStartEverything(self):
        """
        With no service option, every service starts on its default port.
        """
        options = parse()
        names = ["daytime", "doctor", "chat", "echo", "discard", "chargen", "qotd", "time", "web"]
        ports = [21566, 21567, 21568, 21571, 21572, 21573, 21574, 21575, 21569]
        self.assertEqual(options.services(), [*names, "dashboard"])
        self.assertEqual(
            [options[name] for name in names],
            [[(str(port), d) for d in bare(port)] for port in ports],
        )
        local = "tcp:21570:interface=127.0.0.1"
        self.assertEqual(options["dashboard"], [(local, f"{local}:backlog=1024")])
        self.assertIsNone(options["daytime-udp"])

    def test_someStartOnlyThose(self):
        options = parse("--doctor", "2000")
        self.assertEqual(options.services(), ["doctor"])
        self.assertEqual(options["doctor"], [("2000", d) for d in bare(2000)])

    def test_dashboardAddsToTheDefaults(self):
        """
        C{--dashboard EP} alone moves the dashboard and starts every other
        service as without options; with a service option, only that one runs
        beside it.
        """
        options = parse("--dashboard", "tcp:2000:interface=127.0.0.1")
        self.assertEqual(options.services(), list(SERVICES))
        self.assertEqual(options.endpoints("dashboard")[0][0], "tcp:2000:interface=127.0.0.1")
        options = parse("--chat", "2001", "--dashboard", "tcp:2000:interface=127.0.0.1")
        self.assertEqual(options.services(), ["chat", "dashboard"])

    def test_udpAddsToTheDefaults(self):
        """
        Asking for UDP Day/Time adds it to whatever else runs: alone, to every
        default service (it once turned every TCP service off).
        """
        options = parse("--daytime-udp", "[::1]:2000")
        self.assertEqual(options.services(), list(SERVICES))
        self.assertEqual(options["daytime-udp"], [("[::1]:2000", ("::1", 2000))])
        options = parse("--doctor", "2001", "--daytime-udp", "2000")
        self.assertEqual(options.services(), ["doctor"])

    def test_repeatedServiceOptions(self):
        """
        A service option given more than once listens on every endpoint given
        (once, only the last was kept); each keeps the value as typed.
        """
        options = parse(
            "--chat", "2000", "--chat", "tcp:2001", "--daytime-udp", "3", "--daytime-udp", "4"
        )
        self.assertEqual(
            options.endpoints("chat"),
            [("2000", d) for d in bare(2000)] + [("tcp:2001", "tcp:2001:backlog=1024")],
        )
        self.assertEqual(options["daytime-udp"], [("3", ("", 3)), ("4", ("", 4))])

    def test_needsItsService(self):
        """
        An option for a service that is not running is refused with one line
        (it was ignored without a word).
        """
        for args in (
            ["--daytime", "2000", "--chat-operator", "stdio:"],
            ["--daytime", "2000", "--chat-history", "5"],
            ["--chat", "2000", "--doctor-script", "x"],
            ["--doctor", "2000", "--daytime-format", "rfc3339"],
            ["--daytime", "2000", "--udp-rate", "1/s,1"],
        ):
            with self.assertRaises(usage.UsageError, msg=args) as caught:
                parse(*args)
            message = str(caught.exception)
            self.assertIn(f"{args[2]}: the service it applies to is not running", message)
        parse("--chat-operator", "stdio:")  # the defaults include chat
        parse("--daytime-udp", "2000", "--daytime-format", "rfc3339", "--udp-rate", "1/s,1")
        parse("--daytime", "2000", "--time-udp", "2000", "--udp-rate", "1/s,1")

    def test_endpointStrings(self):
        for description in (
            "tcp:21566:interface=127.0.0.1",
            "tcp6:21566:interface=\\:\\:1",
            "unix:/tmp/netlab.sock:mode=600",
        ):
            self.assertEqual(
                parse("--daytime", description)["daytime"],
                [(description, description + ":backlog=1024")],
            )

    def test_systemdWithoutASocket(self):
        """
        A systemd: endpoint with no socket handed over says so.
        """
        with self.assertRaises(usage.UsageError) as caught:
            parse("--daytime", "systemd:domain=INET6:index=7")
        self.assertIn("systemd handed over no such socket", str(caught.exception))

    def test_lab(self):
        """
        --lab for every service, and per service, merged in order; a service
        that does not run is refused.
        """
        options = parse("--lab", "split=5", "--lab", "doctor:delay=200")
        self.assertEqual(options.labFaults("doctor"), LabFaults(split=5, delay=0.2))
        self.assertEqual(options.labFaults("chat"), LabFaults(split=5))
        self.assertIsNone(parse().labFaults("chat"))
        for args in (["--daytime", "2000", "--lab", "chat:split=5"], ["--lab", "nosuch:split=5"]):
            self.assertRaises(usage.UsageError, parse, *args)

    def test_missingExtraNamed(self):
        """
        A TLS endpoint without the TLS extra installed names the extra to install.
        """
        import sys

        saved = sys.modules.pop("OpenSSL", None)
        sys.modules["OpenSSL"] = None  # import OpenSSL now raises ImportError
        self.addCleanup(sys.modules.pop, "OpenSSL")
        if saved is not None:
            self.addCleanup(sys.modules.__setitem__, "OpenSSL", saved)
        with self.assertRaises(usage.UsageError) as caught:
            parse("--chat", "ssl:2000:privateKey=key.pem")
        self.assertIn("pip install '.[tls]'", str(caught.exception))

    def test_messagesQuoteWhatWasTyped(self):
        """
        Error lines show the value as typed, not netlab's additions to it.
        """
        with self.assertRaises(usage.UsageError) as caught:
            parse("--chat", "tcp:port")
        self.assertIn("'tcp:port'", str(caught.exception))
        self.assertNotIn("backlog", str(caught.exception))

    def test_badValues(self):
        """
        Each bad value is refused with a message that names the option.
        """
        for args in (
            ["--daytime", "banana"],
            ["--chat", "tcp:notaport"],
            ["--doctor", "70000"],
            ["--daytime-format", "banana"],
            ["--daytime-udp", "localhost"],
            ["--chat-rate", "fast"],
            ["--chat-sendq", "lots"],
            ["--chat-history", "-1"],
            ["--max-line", "0"],
            ["--idle-timeout", "soon"],
            ["--max-connections", "many"],
            ["--bare-delay", "-1"],
            ["--daytime", "ssl:2000:privateKey=/nonexistent/key.pem"],
            ["--daytime", "tcp:\u0663\u0661"],
            ["--max-line", "\uff14\uff10"],
            ["--max-line", "99999999999G"],
            ["--chat-history", "99999999"],
            ["--max-connections", "\u0661"],
            ["--doctor-script", "/dev/zero"],
            ["--lab", "split=\uff15"],
            ["--udp-rate", "\u0663/s,5"],
            ["--echo-udp", "127.0.0.1:\u0662\u0664"],
            ["--udp-rate", "5/s,5", "--udp-rate", "0"],
            ["--handshake-timeout", "0.0000001ms"],
        ):
            with self.assertRaises(usage.UsageError, msg=args) as caught:
                parse(*args)
            self.assertIn(args[0], str(caught.exception))

    def test_unreadableDoctorScript(self):
        with self.assertRaises(usage.UsageError) as caught:
            parse("--doctor-script", "/nonexistent/doctor.script")
        self.assertIn("--doctor-script: cannot read", str(caught.exception))

    def test_oneLineUnderTwistd(self):
        """
        Under twistd (the options have a parent), a bad value exits with one line
        instead of twistd's full help text.
        """
        options = Options()
        options.parent = object()
        with self.assertRaises(SystemExit) as caught:
            options.parseOptions(["--daytime", "banana"])
        message = str(caught.exception.code)
        self.assertTrue(message.startswith("netlab: --daytime: "), message)
        self.assertNotIn("\n", message)

    def test_values(self):
        options = parse("--chat-sendq", "64K", "--chat-rate", "0", "--idle-timeout", "0")
        self.assertEqual(options["chat-sendq"], 65536)
        self.assertIsNone(options["chat-rate"])
        self.assertEqual(options["idle-timeout"], 0.0)
        self.assertEqual(parse()["chat-rate"], Rate(5.0, 20))
        self.assertEqual(parse()["idle-timeout"], 1800.0)
        self.assertEqual(parse("--idle-timeout", "1h")["idle-timeout"], 3600.0)
        self.assertEqual(parse("--bare-delay", "250ms")["bare-delay"], 0.25)


class DefaultsTests(SynchronousTestCase):
    """
    Every default is defined once, by the module that uses it; the options
    show it and parse back to it.
    """

    def test_defaultsAreTheModulesOwn(self) -> None:
        config = Options()
        config.parseOptions([])
        self.assertEqual(config["chat-history"], HISTORY)
        self.assertEqual(config["chat-sendq"], SENDQ)
        self.assertEqual(config["chat-rate"], RATE)
        self.assertEqual(config["udp-rate"], DEFAULT_RATE)
        self.assertEqual(config["max-line"], MAX_LINE)
        self.assertEqual(config["bare-delay"], BARE_DELAY)
        self.assertEqual(config["idle-timeout"], IDLE_TIMEOUT)
        self.assertEqual(config["handshake-timeout"], HANDSHAKE_TIMEOUT)
        self.assertEqual(config["max-connections"], MAX_CONNECTIONS)
        self.assertEqual(config["max-per-peer"], MAX_PER_PEER)
        self.assertEqual(config["daytime-format"], TIME_FORMAT)
        self.assertEqual({name: port for name, (port, _) in SERVICES.items()}, PORTS)


class MakeServiceTests(SynchronousTestCase):
    def test_listeners(self):
        """
        makeService builds one named listener per requested service, each behind
        a guard with the configured limits, plus the UDP service if asked.
        """
        reactor = UDPMemoryReactor()
        options = parse("--daytime", "tcp:2001", "--daytime-udp", "2001", "--max-connections", "7")
        service = makeService(options, reactor)
        self.assertIsInstance(service, NetlabService)
        self.assertEqual(
            sorted(str(child.name) for child in service), ["None", "access log", "daytime"]
        )
        daytime = service.getServiceNamed("daytime")
        self.assertEqual(daytime.factory.maxConnections, 7)
        self.assertEqual(daytime.factory.serviceName, "daytime")
        service.privilegedStartService()
        self.assertEqual([port[:3:2] for port in reactor.tcpServers], [(2001, 1024)])
        self.assertEqual([port[0] for port in reactor.udpServers], [2001])

    def test_chatThreads(self):
        """
        The chat room sends a big room's lines on --chat-threads threads
        (stopped with the daemon); 1 means the reactor's alone.
        """
        for value, threads in (("3", 3), ("1", 1)):
            options = parse("--chat", "tcp:2002", "--chat-threads", value)
            service = makeService(options, UDPMemoryReactor())
            sender = service.getServiceNamed("chat").factory.wrappedFactory.room.sender
            self.assertEqual(sender.threads, threads)
            self.assertIs(service.getServiceNamed("chat sending"), sender)
        self.assertRaises(usage.UsageError, parse, "--chat", "tcp:2002", "--chat-threads", "65")

    def test_udpBarePortIsDualStack(self):
        """
        A bare UDP port is every interface, IPv6 and IPv4 (`netlab daytime ::1
        --udp` was refused); HOST:PORT is that address only.
        """
        reactor = UDPMemoryReactor()
        options = parse(
            "--daytime", "tcp:2001", "--daytime-udp", "2001", "--time-udp", "127.0.0.1:37"
        )
        makeService(options, reactor).privilegedStartService()
        v6, dualStack = ipv6Listening()
        everywhere = ["::"] if dualStack else ["::", ""] if v6 else [""]
        self.assertEqual(
            [(port[0], port[2]) for port in reactor.udpServers],
            [(2001, address) for address in everywhere] + [(37, "127.0.0.1")],
        )

    def test_labWrapsTheGuard(self):
        """
        A service with lab faults gets the lab's wrapper, announced where it greets.
        """
        options = parse("--doctor", "tcp:2001", "--daytime", "tcp:2002", "--lab", "split=3")
        service = makeService(options, UDPMemoryReactor())
        for name, announce in (("doctor", True), ("daytime", False)):
            wrapper = service.getServiceNamed(name).factory.buildProtocol(None)
            self.assertIsInstance(wrapper, LabProtocol)
            self.assertEqual((wrapper.faults, wrapper.announce), (LabFaults(split=3), announce))

    def test_listenFailureStopsEverything(self):
        """
        If one port cannot be opened, those already opened are closed and the
        daemon stops with one line naming the option.
        """
        stopped = []

        class Port(_FakePort):
            def stopListening(self):
                stopped.append(self.getHost().port)

        class Reactor(MemoryReactorClock):
            def listenTCP(self, port, factory, backlog=50, interface=""):
                return Port(IPv4Address("TCP", "0.0.0.0", port))

            def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
                raise CannotListenError(interface, port, OSError(98, "Address in use"))

        options = parse("--daytime", "tcp:2001", "--daytime-udp", "127.0.0.1:2002")
        service = makeService(options, Reactor())
        terminal = io.StringIO()  # twistd may have pointed sys.stderr at its log by now
        self.patch(sys, "__stderr__", terminal)
        with self.assertRaises(StartError) as caught:
            service.privilegedStartService()
        expected = "netlab: --daytime-udp 127.0.0.1:2002: cannot listen: [Errno 98] Address in use"
        self.assertEqual(str(caught.exception), expected)
        self.assertEqual(caught.exception.code, 1)
        self.assertEqual(terminal.getvalue(), expected + "\n")
        self.assertEqual(stopped, [2001])

    def test_failureAfterForkIsAnException(self):
        """
        Once twistd has forked into the background, a listening failure is an
        ordinary exception, which twistd reports through its status pipe (a
        SystemExit there left the terminal waiting forever).
        """

        class Reactor(MemoryReactorClock):
            def listenTCP(self, port, factory, backlog=50, interface=""):
                raise CannotListenError(interface, port, OSError(98, "Address in use"))

        service = makeService(parse("--daytime", "tcp:2001"), Reactor())
        service._builtBy = -1  # as if built by twistd's parent process
        with self.assertRaises(DaemonStartError) as caught:
            service.privilegedStartService()
        self.assertNotIsInstance(caught.exception, SystemExit)
        expected = "netlab: --daytime tcp:2001: cannot listen: [Errno 98] Address in use"
        self.assertEqual(str(caught.exception), expected)

    def test_probeFindsAPortInUse(self):
        """
        L{NetlabService.probe} tries every address before twistd forks and
        stops with the same line a failing listener gives.
        """
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            free = socket.socket()
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
            free.close()
            service = makeService(
                parse("--daytime", f"tcp:{port}:interface=127.0.0.1", "--chat", f"tcp:{taken}"),
                UDPMemoryReactor(),
            )
            with self.assertRaises(StartError) as caught:
                service.probe()
        self.assertEqual(
            str(caught.exception).split(": [Errno")[0], f"netlab: --chat tcp:{taken}: cannot listen"
        )


class StartTests(SynchronousTestCase):
    def test_freezesStartupObjects(self):
        """
        Once started, the objects that live as long as the daemon are out of
        the garbage collector's full passes (they stalled the reactor).
        """
        self.addCleanup(gc.unfreeze)
        gc.unfreeze()
        service = makeService(parse("--daytime", "tcp:2001"), UDPMemoryReactor())
        service.privilegedStartService()
        service.startService()
        self.assertGreater(gc.get_freeze_count(), 0)


class PluginTests(SynchronousTestCase):
    def test_discoverable(self):
        """
        twistd finds the plugin under the name netlab.
        """
        import twisted.plugins

        makers = {p.tapname: p for p in getPlugins(IServiceMaker, twisted.plugins)}
        self.assertIn("netlab", makers)
        self.assertIs(makers["netlab"].options, Options)


class StopSignalTests(SynchronousTestCase):
    def test_secondSignalBeforeShutdown(self):
        """
        A second stop signal that comes before the reactor gets to the first
        (a busy turn) asks for nothing more: one stop, and a line saying so.
        """
        reactor = MemoryReactorClock()
        stops: list[object] = []
        reactor.callFromThread = lambda f, *a, **kw: stops.append(f)
        service = NetlabService(reactor)
        for number in (signal.SIGINT, signal.SIGTERM, *EXTRA_STOP_SIGNALS):
            self.addCleanup(signal.signal, number, signal.getsignal(number))
        with capturedLogs() as events:
            service._stopOnSignal(signal.SIGTERM, None)
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # what the next signal runs
        self.assertEqual(stops, [reactor.stop])
        self.assertEqual(
            [formatEvent(event) for event in events],
            ["Received SIGTERM, shutting down.", "Received SIGINT; already shutting down."],
        )
