"""
Start, watch and stop the servers under test (netlab and every baseline).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import system

HERE = Path(__file__).resolve().parent
BASELINES = HERE / "baselines"
TWISTD = ["-c", "import sys; from twisted.scripts.twistd import run; sys.argv[0] = 'twistd'; run()"]


class ServerUnavailableError(RuntimeError):
    """
    The server cannot run here (not installed, failed to start); the reason says why.
    """


@dataclass
class ServerSpec:
    """
    How to run one server under test.

    @ivar key: the server's key in the results (C{netlab}, C{twisted}, ...).
    @ivar label: its name in the report.
    @ivar argv: C{argv(port, workdir)} returns the command line.
    @ivar protocol: C{"line"} or C{"irc"}, for chat servers.
    @ivar greets: whether a chat server writes a line on connect.
    @ivar opensBlank: whether a line client should start with an empty line (netlab ends
        the greeting's line, and sends room lines, once a client shows it is not one of
        the course's lockstep programs).
    @ivar available: returns L{None} when the server can run here, else the reason.
    @ivar env: environment variables added for the server.
    """

    key: str
    label: str
    argv: Callable[[int, Path], list[str]]
    protocol: str = "line"
    greets: bool = False
    opensBlank: bool = False
    available: Callable[[], str | None] = lambda: None  # None = available, else reason
    env: dict[str, str] = field(default_factory=dict)


class RunningServer:
    """
    A started server process: its pid, CPU and memory, and a clean stop.

    @ivar spec: how it was started.
    @ivar port: the loopback port it listens on.
    @ivar workdir: its temporary working directory, removed by L{stop}.
    @ivar errlog: where its stdout and stderr go.
    @ivar proc: the process.
    """

    def __init__(self, spec: ServerSpec, port: int) -> None:
        self.spec = spec
        self.port = port
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bench-{spec.key}-"))
        self.errlog = self.workdir / "stderr.log"
        env = dict(os.environ, **spec.env)
        with open(self.errlog, "wb") as err:
            self.proc = subprocess.Popen(
                spec.argv(port, self.workdir),
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
        if not system.waitForPort(port, alive=self.alive) or not self.alive():
            reason = self.tail()
            self.stop()
            raise ServerUnavailableError(f"{spec.label} did not start: {reason}")
        self.quiesce()

    @property
    def pid(self) -> int:
        """
        The server's process id.
        """
        return self.proc.pid

    def cpuMicroseconds(self) -> int:
        """
        CPU time the server has used so far.

        @return: microseconds.
        """
        return system.cpuMicroseconds(self.pid)

    def rssKiB(self) -> int:
        """
        The server's resident memory.

        @return: KiB.
        """
        return system.rssKiB(self.pid)

    def alive(self) -> bool:
        """
        True while the process runs.
        """
        return self.proc.poll() is None

    def tail(self, lines: int = 1) -> str:
        """
        The last lines the server wrote to stderr/stdout.

        @param lines: how many.
        @return: the lines joined with C{" | "}, or the exit status when there are none.
        """
        try:
            text = self.errlog.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:]) or f"exit status {self.proc.poll()}"

    def quiesce(self, limit: float = 10.0, window: float = 0.15) -> float:
        """
        Wait until the server stops burning CPU (< 3% of a core over C{window}).

        Used between runs so that one run's clean-up (for example a chat room announcing
        1,000 departures) never bleeds into the next.

        @param limit: the longest to wait, in seconds.
        @param window: the sampling interval, in seconds.
        @return: the seconds waited.
        """
        start = time.monotonic()
        while time.monotonic() - start < limit and self.alive():
            before = self.cpuMicroseconds()
            time.sleep(window)
            if self.cpuMicroseconds() - before < window * 1e6 * 0.03:
                break
        return time.monotonic() - start

    def stop(self, clean: bool = True) -> int:
        """
        SIGTERM, then SIGKILL after 5 s; remove the work directory.

        @param clean: whether to remove the work directory (L{False} keeps it, and the
            server's logs, for the caller to read and remove).
        @return: the exit status (negative: the signal that ended it; C{-9}: it had to
            be killed).
        """
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if clean:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.proc.returncode


def start(spec: ServerSpec) -> RunningServer:
    """
    Start C{spec} on a free loopback port.

    @return: the running server.
    @raise ServerUnavailableError: if it cannot run here or did not start.
    """
    reason = spec.available()
    if reason:
        raise ServerUnavailableError(reason)
    return RunningServer(spec, system.freePort())


def _python(script: str) -> Callable[[int, Path], list[str]]:
    return lambda port, _wd: [sys.executable, str(BASELINES / script), str(port)]


def netlabAvailable() -> str | None:
    """
    Whether netlab and its twistd plugin can be imported.

    @return: L{None} when they can, else the reason.
    """
    try:
        import netlab.tap  # noqa: F401
    except ImportError as e:
        return f"netlab is not importable ({e}); run pip install -e . first"
    return None


#: The daemon's log file, in its work directory, when it is kept (C{logged}).
NETLAB_LOG = "twistd.log"


def _netlab(service: str, *extra: str, logged: bool = False) -> Callable[[int, Path], list[str]]:
    def argv(port: int, wd: Path) -> list[str]:
        logfile = wd / NETLAB_LOG if logged else "/dev/null"
        return [
            sys.executable, *TWISTD, "-n", "--pidfile=", f"--logfile={logfile}", "netlab",
            f"--{service}", f"tcp:{port}:interface=127.0.0.1", *NETLAB_LIMITS, *extra,
        ]

    return argv


def netlabChat(*extra: str) -> Callable[[int, Path], list[str]]:
    """
    netlab's chat as the chat scenario runs it, with its log kept in the work folder.

    @param extra: more options (C{--chat-redis URL}, ...).
    @return: C{argv(port, workdir)}.
    """
    return _netlab("chat", *NETLAB_CHAT_OPTS, *extra, logged=True)


# The load generators open thousands of connections from a few loopback addresses.
NETLAB_LIMITS = ("--max-connections", "20000", "--max-per-peer", "20000")
# No flood limit (the generators send as fast as the server delivers) and a send queue
# large enough that a reader 1,000 lines behind is not disconnected.
NETLAB_CHAT_OPTS = (
    "--chat-rate", "0", "--chat-address-rate", "0", "--chat-address-bytes", "0",
    "--chat-sendq", "64M",
)
# No pace either: each generator connection asks as fast as it is answered.
NETLAB_DOCTOR_OPTS = ("--doctor-rate", "0", "--doctor-address-rate", "0")

NETLAB_DAYTIME = ServerSpec("netlab", "netlab", _netlab("daytime", logged=True),
                            available=netlabAvailable)
TWISTED_DAYTIME = ServerSpec("twisted", "bare Twisted", _python("twisted_daytime.py"))
ASYNCIO_DAYTIME = ServerSpec("asyncio", "asyncio", _python("asyncio_daytime.py"))
COURSE_DAYTIME = ServerSpec("course", "course (blocking, listen 5)", _python("course_daytime.py"))

NETLAB_CHAT = ServerSpec("netlab", "netlab", _netlab("chat", *NETLAB_CHAT_OPTS),
                         greets=True, available=netlabAvailable)
TWISTED_CHAT = ServerSpec("twisted", "minimal Twisted room", _python("twisted_chat.py"))


def _netlabWatched(*extra: str) -> Callable[[int, Path], list[str]]:
    """
    netlab's chat with the teacher's dashboard running (on a UNIX socket in
    the work folder), so every connection is counted, and C{extra} options.
    """

    def argv(port: int, wd: Path) -> list[str]:
        chat = _netlab("chat", *NETLAB_CHAT_OPTS)(port, wd)
        return [*chat, "--dashboard", f"unix:{wd}/dashboard.sock", *extra]

    return argv


NETLAB_CHAT_DASHBOARD = ServerSpec("netlab-dashboard", "netlab --dashboard", _netlabWatched(),
                                   greets=True, available=netlabAvailable)
NETLAB_CHAT_TRACED = ServerSpec("netlab-trace", "netlab --dashboard --trace 4K",
                                _netlabWatched("--trace", "4K"),
                                greets=True, available=netlabAvailable)

NETLAB_DOCTOR = ServerSpec("netlab", "netlab", _netlab("doctor", *NETLAB_DOCTOR_OPTS), greets=True,
                           opensBlank=True, available=netlabAvailable)
TWISTED_ELIZA = ServerSpec("nltk", "Twisted + nltk eliza", _python("twisted_eliza.py"),
                           greets=True)
