"""Start, watch and stop the servers under test (netlab and every baseline)."""

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


class ServerUnavailable(RuntimeError):
    """The server cannot run here (not installed, failed to start); the reason says why."""


@dataclass
class ServerSpec:
    """How to run one server under test.

    ``argv(port, workdir)`` returns the command line; ``protocol`` is "line" or "irc"
    for chat servers; ``greets`` says whether a chat server writes a line on connect;
    ``opens_blank`` whether a line client should start with an empty line (netlab ends the
    greeting's line, and sends room lines, once a client shows it is not one of the course's
    lockstep programs).
    """

    key: str
    label: str
    argv: Callable[[int, Path], list[str]]
    protocol: str = "line"
    greets: bool = False
    opens_blank: bool = False
    available: Callable[[], str | None] = lambda: None  # None = available, else reason
    env: dict[str, str] = field(default_factory=dict)


class RunningServer:
    """A started server process: its pid, CPU and memory, and a clean stop."""

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
        if not system.wait_port(port, alive=self.alive) or not self.alive():
            reason = self.tail()
            self.stop()
            raise ServerUnavailable(f"{spec.label} did not start: {reason}")
        self.quiesce()

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def cpu_us(self) -> int:
        """CPU time the server has used so far (µs)."""
        return system.cpu_us(self.pid)

    def rss_kb(self) -> int:
        """The server's resident memory (KiB)."""
        return system.rss_kb(self.pid)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def tail(self, lines: int = 1) -> str:
        """The last lines the server wrote to stderr/stdout."""
        try:
            text = self.errlog.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:]) or f"exit status {self.proc.poll()}"

    def quiesce(self, limit: float = 10.0, window: float = 0.15) -> float:
        """Wait until the server stops burning CPU (< 3% of a core over ``window``).

        Returns the seconds waited. Used between runs so that one run's clean-up (for
        example a chat room announcing 1,000 departures) never bleeds into the next.
        """
        start = time.monotonic()
        while time.monotonic() - start < limit and self.alive():
            before = self.cpu_us()
            time.sleep(window)
            if self.cpu_us() - before < window * 1e6 * 0.03:
                break
        return time.monotonic() - start

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; remove the work directory."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start(spec: ServerSpec) -> RunningServer:
    """Start ``spec`` on a free loopback port, or raise ``ServerUnavailable``."""
    reason = spec.available()
    if reason:
        raise ServerUnavailable(reason)
    return RunningServer(spec, system.free_port())


def _python(script: str) -> Callable[[int, Path], list[str]]:
    return lambda port, _wd: [sys.executable, str(BASELINES / script), str(port)]


def netlab_available() -> str | None:
    """None when netlab and its twistd plugin can be imported, else the reason."""
    try:
        import netlab.tap  # noqa: F401
    except ImportError as e:
        return f"netlab is not importable ({e}); run pip install -e . first"
    return None


def _netlab(service: str, *extra: str) -> Callable[[int, Path], list[str]]:
    def argv(port: int, _wd: Path) -> list[str]:
        return [
            sys.executable, *TWISTD, "-n", "--pidfile=", "--logfile=/dev/null", "netlab",
            f"--{service}", f"tcp:{port}:interface=127.0.0.1", *NETLAB_LIMITS, *extra,
        ]

    return argv


# The load generators open thousands of connections from a few loopback addresses.
NETLAB_LIMITS = ("--max-connections", "20000", "--max-per-peer", "20000")
# No flood limit (the generators send as fast as the server delivers) and a send queue
# large enough that a reader 1,000 lines behind is not disconnected.
NETLAB_CHAT_OPTS = ("--chat-rate", "0", "--chat-sendq", "64M")

NETLAB_DAYTIME = ServerSpec("netlab", "netlab", _netlab("daytime"), available=netlab_available)
TWISTED_DAYTIME = ServerSpec("twisted", "bare Twisted", _python("twisted_daytime.py"))
ASYNCIO_DAYTIME = ServerSpec("asyncio", "asyncio", _python("asyncio_daytime.py"))
COURSE_DAYTIME = ServerSpec("course", "course (blocking, listen 5)", _python("course_daytime.py"))

NETLAB_CHAT = ServerSpec("netlab", "netlab", _netlab("chat", *NETLAB_CHAT_OPTS),
                         greets=True, available=netlab_available)
TWISTED_CHAT = ServerSpec("twisted", "minimal Twisted room", _python("twisted_chat.py"))

NETLAB_DOCTOR = ServerSpec("netlab", "netlab", _netlab("doctor"), greets=True,
                           opens_blank=True, available=netlab_available)
TWISTED_ELIZA = ServerSpec("nltk", "Twisted + nltk eliza", _python("twisted_eliza.py"),
                           greets=True)
