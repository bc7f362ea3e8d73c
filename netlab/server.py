"""
The daemon's top-level service: the listeners of every netlab service, started
together or not at all, and stopped cleanly.

twistd needs three things from it that a plain C{MultiService} does not give:

  - A listener that cannot start (port in use, permission denied) must stop the
    whole daemon with one clear line naming the option, not a traceback and not
    half a daemon: L{NetlabService.privilegedStartService} closes what it already
    opened and exits with that line.
  - On SIGTERM/SIGINT every conversational client is told the server is going
    away before its connection closes (L{GuardFactory.shutdown}).
  - A clean stop must exit with status 0.  Stock twistd re-raises the signal
    that stopped it (exit status -15); since the shutdown was orderly, we clear
    the reactor's record of that signal once shutdown has completed.
"""

from __future__ import annotations

import gc
import resource

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import IService, MultiService
from twisted.internet import defer
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import Logger

from netlab.guard import GuardFactory

log = Logger(namespace="netlab")


class StartError(SystemExit):
    """
    The daemon cannot start; the message is the one line the user sees.
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


class Listener(StreamServerEndpointService):
    """
    One service's listening endpoint, wrapped in a L{GuardFactory}.

    @ivar option: how the user asked for it (C{--chat tcp:21568}), for messages.
    """

    def __init__(self, option: str, endpoint: IStreamServerEndpoint, factory: GuardFactory):
        super().__init__(endpoint, factory)
        self.option = option
        self._raiseSynchronously = True

    def stopService(self) -> defer.Deferred[None]:
        """
        Stop listening, then say goodbye to every connected client.
        """
        stopped = defer.maybeDeferred(super().stopService)
        stopped.addCallback(lambda _: self.factory.shutdown())
        return stopped


class NetlabService(MultiService):
    """
    All of netlab's listeners (and any other services), as one unit.
    """

    def __init__(self, reactor) -> None:
        super().__init__()
        self.reactor = reactor

    def privilegedStartService(self) -> None:
        """
        Open every listening port (before twistd sheds privileges), or none.
        """
        soft, hard = raiseOpenFilesLimit()
        log.info("open-files limit: {soft} (hard limit {hard})", soft=soft, hard=hard)
        started: list[IService] = []
        for child in self:
            try:
                child.privilegedStartService()
            except Exception as e:
                for done in reversed(started):
                    done.stopService()
                option = getattr(child, "option", child.name)
                raise StartError(f"netlab: {option}: cannot listen: {_reason(e)}") from None
            started.append(child)

    def startService(self) -> None:
        super().startService()
        self.reactor.addSystemEventTrigger("after", "shutdown", self._forgetExitSignal)
        # Everything imported and built so far (Twisted, the script, ~50,000
        # objects) lives as long as the daemon.  Leave it out of the cyclic
        # garbage collector's full passes, which otherwise stall the reactor
        # for ~10 ms each: the chat's p99 latency was 3x its median for that.
        gc.freeze()

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
