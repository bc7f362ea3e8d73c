"""
The daemon's top-level service: the listeners of every netlab service, started
together or not at all, and stopped cleanly.

twistd needs four things from it that a plain C{MultiService} does not give:

  - A listener that cannot start (port in use, permission denied) must stop the
    whole daemon with one clear line naming the option, not a traceback and not
    half a daemon: L{NetlabService.privilegedStartService} closes what it already
    opened and exits with that line.
  - In the background (C{twistd} without C{-n}) twistd forks before the ports
    are opened and the terminal only learns what its status pipe is told, so
    L{NetlabService.probe} tries every address first, before the fork, and a
    failure is the same one line and exit status in every mode.  What still
    fails after the fork (a race for the port) is raised as an ordinary
    exception, which twistd reports to the terminal (exit status 1) and for
    which it removes its pidfile.
  - On SIGTERM/SIGINT every conversational client is told the server is going
    away before its connection closes (L{GuardFactory.shutdown}), once per
    service however many endpoints it listens on (L{ServiceListeners}).
  - A clean stop must exit with status 0.  Stock twistd re-raises the signal
    that stopped it (exit status -15); since the shutdown was orderly, we clear
    the reactor's record of that signal once shutdown has completed.
"""

from __future__ import annotations

import errno
import gc
import os
import resource
import signal
import socket
import sys
import threading
from collections.abc import Iterator

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import IService, MultiService, Service
from twisted.internet import defer, endpoints
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactor
from twisted.logger import Logger

from netlab.guard import GuardFactory

log = Logger(namespace="netlab")


#: Signals that stop the daemon as SIGTERM and SIGINT do (Twisted's own).
EXTRA_STOP_SIGNALS = (signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR2)


class StartError(SystemExit):
    """
    The daemon cannot start; C{line} is the one line the user sees.  Unless it
    has been C{printed} already, Python prints it as the process exits.
    """

    def __init__(self, line: str, printed: bool = False) -> None:
        super().__init__(1 if printed else line)
        self.line = line

    def __str__(self) -> str:
        return self.line


class DaemonStartError(Exception):
    """
    The daemon cannot start after twistd has forked into the background: an
    ordinary exception, which twistd reports through its status pipe (a
    C{SystemExit} there would leave the terminal waiting forever).
    """


def raiseOpenFilesLimit() -> tuple[int, int]:
    """
    Raise the soft limit on open files to the hard limit (each client is a file
    descriptor; the usual soft limit of 1024 would cap the chat room), and
    return the (soft, hard) limits now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as e:
            log.warn("could not raise the open-files limit to {hard}: {e}", hard=hard, e=e)
    return soft, hard


#: The endpoint kinds L{probeListen} tries.
_PROBED = ("tcp", "tcp6", "ssl", "unix")


def probeListen(description: str, held: list[socket.socket]) -> None:
    """
    Bind the address of a TCP, TLS or UNIX server endpoint description and add
    the socket to C{held}, so that a port in use, an address given twice or a
    forbidden one shows before the daemon forks.  Endpoints of other kinds
    (C{systemd:}, ...) are not probed.  The caller closes what is held.

    The description is parsed by Twisted itself, listening on a
    L{MemoryReactor} that records what a real reactor would have been asked for.

    @raise OSError: if the address cannot be bound.
    @raise OverflowError: if the port is out of range.
    """
    if description.split(":", 1)[0].lower() not in _PROBED:
        return
    recorder = MemoryReactor()
    endpoints.serverFromString(recorder, description).listen(Factory())
    for server in recorder.tcpServers:
        port, interface = server[0], server[3]
        held.append(_probe(_family(interface), (interface, port)))
    for server in recorder.sslServers:
        port, interface = server[0], server[4]
        held.append(_probe(_family(interface), (interface, port)))
    for path, _, _, _, wantPID in recorder.unixServers:
        if not isinstance(path, str) or path.startswith("\0"):  # abstract namespace
            continue
        folder = os.path.dirname(path) or "."
        if not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, "no such directory", folder)
        if not wantPID:
            sock = _probe(socket.AF_UNIX, path)
            os.unlink(path)  # the name goes; the socket, held, still shows a second use
            held.append(sock)


def _family(interface: str) -> int:
    return socket.AF_INET6 if ":" in interface else socket.AF_INET


def _probe(family: int, address: object) -> socket.socket:
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family != socket.AF_UNIX:
            # As Twisted's own listening sockets do, so that a port in TIME_WAIT
            # passes here exactly when it will pass there.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
        probe.listen(1)
    except BaseException:
        probe.close()
        raise
    return probe


class Listener(StreamServerEndpointService):
    """
    One listening endpoint of a service, wrapped in the service's L{GuardFactory}.

    @ivar option: how the user asked for it (C{--chat 21568}), for messages.
    @ivar description: the endpoint description it listens on.
    """

    def __init__(
        self,
        option: str,
        endpoint: IStreamServerEndpoint,
        factory: GuardFactory,
        description: str | None = None,
    ) -> None:
        super().__init__(endpoint, factory)
        self.option = option
        self.description = description
        self._raiseSynchronously = True


class ServiceListeners(MultiService):
    """
    Every endpoint one service listens on (C{--chat 21568 --chat ssl:...}), all
    sharing one guarded factory: one room, one set of limits.  Stopping stops
    listening on all of them, then says goodbye to every client once.
    """

    def __init__(self, name: str, factory: GuardFactory) -> None:
        super().__init__()
        self.setName(name)
        self.factory = factory

    def add(self, option: str, endpoint: IStreamServerEndpoint, description: str) -> None:
        """
        Listen on one more endpoint.
        """
        Listener(option, endpoint, self.factory, description).setServiceParent(self)

    def stopService(self) -> defer.Deferred[None]:
        stopped = defer.maybeDeferred(super().stopService)
        stopped.addCallback(lambda _: self.factory.shutdown())
        return stopped


def _leaves(service: IService) -> Iterator[IService]:
    """
    The services below C{service} that open something themselves.
    """
    if isinstance(service, MultiService):
        for child in service:
            yield from _leaves(child)
    else:
        yield service


class NetlabService(MultiService):
    """
    All of netlab's listeners (and any other services), as one unit.
    """

    def __init__(self, reactor) -> None:
        super().__init__()
        self.reactor = reactor
        # twistd forks between building this and starting it when it runs in
        # the background; see the module docstring.
        self._builtBy = os.getpid()
        self._privileged = False

    def probe(self) -> None:
        """
        Try every TCP/TLS/UNIX address before anything starts (and before
        twistd forks into the background), and stop with the one line
        L{privilegedStartService} would give.
        """
        held: list[socket.socket] = []
        try:
            for leaf in _leaves(self):
                check = getattr(leaf, "probe", None)  # a service that needs a server, e.g. Redis
                if check is not None:
                    try:
                        check()
                    except OSError as e:
                        raise StartError(f"netlab: {leaf.option}: {_reason(e)}") from None
                description = getattr(leaf, "description", None)
                if description is None:
                    continue
                try:
                    probeListen(description, held)
                except (OSError, OverflowError, ValueError) as e:  # bind() checks the port too
                    line = f"netlab: {leaf.option}: cannot listen: {_reason(e)}"
                    raise StartError(line) from None
        finally:
            for sock in held:
                sock.close()

    def privilegedStartService(self) -> None:
        """
        Open every listening port (before twistd sheds privileges), or none.
        """
        self._privileged = True
        soft, hard = raiseOpenFilesLimit()
        log.info("open-files limit: {soft} (hard limit {hard})", soft=soft, hard=hard)
        started: list[IService] = []
        for child in _leaves(self):
            try:
                child.privilegedStartService()
            except Exception as e:
                for done in reversed(started):
                    done.stopService()
                option = getattr(child, "option", child.name)
                line = f"netlab: {option}: cannot listen: {_reason(e)}"
                if os.getpid() != self._builtBy:
                    log.critical("{line}", line=line)
                    raise DaemonStartError(line) from None
                # twistd may have pointed sys.stderr at its log file by now: the
                # line goes to the terminal itself.
                print(line, file=sys.__stderr__, flush=True)
                raise StartError(line, printed=True) from None
            started.append(child)

    def startService(self) -> None:
        if not self._privileged:  # `twist` starts services without this step
            self.privilegedStartService()
        super().startService()
        self.reactor.addSystemEventTrigger("after", "shutdown", self._forgetExitSignal)
        if hasattr(self.reactor, "_exitSignal"):  # a real reactor, which handles signals
            self.reactor.callWhenRunning(self._handleSignals)
        # Everything imported and built so far (Twisted, the script, ~50,000
        # objects) lives as long as the daemon.  Leave it out of the cyclic
        # garbage collector's full passes, which otherwise stall the reactor
        # for ~10 ms each: the chat's p99 latency was 3x its median for that.
        gc.freeze()

    def stopService(self) -> defer.Deferred[None]:
        """
        Stop the listeners (whose clients say goodbye) first, then the services
        marked C{stopsLast} (the shared room's link, which publishes those
        goodbyes).
        """
        last = [child for child in self if getattr(child, "stopsLast", False)]
        first = [child for child in self if child not in last]
        Service.stopService(self)
        stopped = defer.DeferredList(
            [defer.maybeDeferred(child.stopService) for child in reversed(first)]
        )
        stopped.addCallback(
            lambda _: defer.DeferredList([defer.maybeDeferred(c.stopService) for c in last])
        )
        return stopped.addCallback(lambda _: None)

    def _handleSignals(self) -> None:
        """
        SIGHUP (the terminal running C{twistd -n} closed), SIGQUIT and SIGUSR2
        stop the daemon as SIGTERM does, clients told, status 0 (by default
        they would kill it on the spot); once shutdown has begun, a second
        signal changes nothing (it made twistd exit 143 instead of 0).
        """
        if threading.current_thread() is not threading.main_thread():
            return
        # SIGINT too: Twisted leaves it alone when the daemon inherited it
        # ignored (started from a script's background job), and then
        # `kill -INT` did nothing.  And SIGTERM: Twisted's handler asks the
        # reactor to stop again on a second one that comes before shutdown
        # begins (a busy reactor's turn), which logged a traceback.
        for number in (signal.SIGINT, signal.SIGTERM, *EXTRA_STOP_SIGNALS):
            signal.signal(number, self._stopOnSignal)
        self.reactor.addSystemEventTrigger("before", "shutdown", self._ignoreMoreSignals)

    def _stopOnSignal(self, number: int, frame: object) -> None:
        log.info("Received {name}, shutting down.", name=signal.Signals(number).name)
        self._ignoreMoreSignals()  # (now: shutdown may begin only after a busy turn)
        self.reactor.callFromThread(self.reactor.stop)

    def _ignoreMoreSignals(self) -> None:
        for number in (signal.SIGINT, signal.SIGTERM, *EXTRA_STOP_SIGNALS):
            signal.signal(number, self._alreadyStopping)

    def _alreadyStopping(self, number: int, frame: object) -> None:
        log.info("Received {name}; already shutting down.", name=signal.Signals(number).name)

    def _forgetExitSignal(self) -> None:
        """
        Shutdown went as planned: let twistd exit 0 rather than re-raise the signal.
        """
        if getattr(self.reactor, "_exitSignal", None) is not None:
            self.reactor._exitSignal = None


def _reason(error: BaseException) -> str:
    """
    The useful part of a listening error, without the exception class noise.
    """
    cause = getattr(error, "socketError", None) or error  # CannotListenError wraps the OSError
    return str(cause).strip() or type(error).__name__
