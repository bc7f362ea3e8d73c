"""
The chat operator's console (C{--chat-operator ENDPOINT}).

As in the course's one-on-one server, where the person at the server typed the
replies, the operator joins the room -- as C{operator} -- and is the only one who
may C{/kick} and C{/wall}.  Two ways in:

  - C{stdio:}: the terminal that runs C{twistd -n} is the console.  twistd logs
    to standard output, which would garble it, so the console takes its own copy
    of standard output and file descriptor 1 is pointed at standard error -- or,
    when standard error is the console's own terminal, at C{/dev/null} (use
    C{--logfile=FILE} to keep the log then).  This happens when the service is
    built, before twistd starts logging, so not even its first lines land on
    the console.
  - any server endpoint, typically C{unix:PATH}: the operator of a background
    daemon connects with C{nc -U PATH}.  File permissions are the access
    control, so a UNIX socket is made with C{mode=600} unless the description
    gives another mode.
"""

from __future__ import annotations

import os
import stat
import sys

from twisted.application.service import IService, Service
from twisted.internet import defer, endpoints
from twisted.internet.stdio import StandardIO
from twisted.logger import Logger
from twisted.python.failure import Failure

from netlab.chat import ChatFactory, OperatorFactory, OperatorProtocol
from netlab.guard import SHUTDOWN_GRACE, GuardFactory
from netlab.server import ServiceListeners, StartError

log = Logger(namespace="netlab")

#: What the console says when the log has nowhere to go but the console itself.
LOG_OFF_NOTICE = (
    "* Log output is off while this terminal is the console (use --logfile=FILE to keep it)."
)


def operatorService(description: str, chat: ChatFactory, reactor) -> IService:
    """
    The operator console for C{--chat-operator DESCRIPTION}, joining the room of
    the chat service's factory C{chat}: C{stdio:} or any server endpoint
    description.

    @raise StartError: if C{description} is not a server endpoint.
    """
    factory = OperatorFactory(chat)
    if description.strip().rstrip(":") == "stdio":
        console, logOff = takeStandardOutput()
        return StdioConsole(factory, reactor, stdout=console, logOff=logOff)
    option = f"--chat-operator {description}"
    if description.split(":", 1)[0] == "unix" and "mode=" not in description:
        # Whoever can connect may /kick and /wall: only the daemon's own user,
        # unless the description says otherwise.
        description += ":mode=600"
    try:
        endpoint = endpoints.serverFromString(reactor, description)
    except Exception as e:
        raise StartError(f"netlab: {option}: not a server endpoint ({e})") from None
    listeners = ServiceListeners("chat-operator", GuardFactory(factory, "chat-operator", reactor))
    listeners.add(option, endpoint, description)
    return listeners


def sameTerminal(fd: int, other: int) -> bool:
    """
    Whether two file descriptors are the same terminal.
    """
    if not (os.isatty(fd) and os.isatty(other)):
        return False
    mine, theirs = os.fstat(fd), os.fstat(other)
    return stat.S_ISCHR(mine.st_mode) and mine.st_rdev == theirs.st_rdev


def takeStandardOutput(stdout: int = 1, stderr: int = 2) -> tuple[int, bool]:
    """
    Give the console its own copy of standard output and point C{stdout} (where
    twistd's log goes) at C{stderr}, or at C{/dev/null} if C{stderr} is the
    console's terminal.  Return the console's descriptor and whether the log
    was switched off.
    """
    sys.stdout.flush()
    console = os.dup(stdout)
    logOff = sameTerminal(stderr, console)
    target = os.open(os.devnull, os.O_WRONLY) if logOff else stderr
    os.dup2(target, stdout)
    if logOff:
        os.close(target)
    return console, logOff


class StdioOperator(OperatorProtocol):
    """
    The console on standard input/output; L{whenClosed} fires when it is gone.
    """

    def connectionMade(self) -> None:
        self.whenClosed: defer.Deferred[None] = defer.Deferred()
        super().connectionMade()

    def connectionLost(self, reason: Failure | None = None) -> None:
        super().connectionLost(reason)
        log.info("chat: the operator console on standard input closed")
        self.whenClosed.callback(None)


class StdioConsole(Service):
    """
    The operator console on the terminal (or pipes) that runs the daemon.
    """

    name = "chat-operator"

    def __init__(
        self,
        factory: OperatorFactory,
        reactor,
        stdin: int = 0,
        stdout: int = 1,
        logOff: bool = False,
    ) -> None:
        self.factory = factory
        self.reactor = reactor
        self.stdin = stdin
        self.stdout = stdout
        self.logOff = logOff
        self.console: StdioOperator | None = None

    def startService(self) -> None:
        """
        Join the room on C{stdin}/C{stdout}.
        """
        super().startService()
        self.factory.protocol = StdioOperator
        console = self.factory.buildProtocol(None)
        self.console = console
        StandardIO(console, stdin=self.stdin, stdout=self.stdout, reactor=self.reactor)
        if self.logOff:
            console.sendMessage(LOG_OFF_NOTICE)
        log.info("chat: operator console on standard input/output")

    def stopService(self) -> defer.Deferred[None]:
        """
        Tell the console the server is going away; wait (briefly) until it closed.
        """
        super().stopService()
        console = self.console
        if console is None or console.whenClosed.called:
            return defer.succeed(None)
        closed = console.whenClosed
        console.serverShutdown()
        waiting: defer.Deferred[None] = defer.Deferred()
        closed.addBoth(lambda _: waiting.called or waiting.callback(None))
        waiting.addTimeout(SHUTDOWN_GRACE, self.reactor, onTimeoutCancel=lambda *_: None)
        return waiting
