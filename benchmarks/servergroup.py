"""
Several processes measured as one server: netlab daemons that share one chat room
through their own Redis (C{--chat-redis}), or a single daemon whose log is kept.

A L{ServerGroup} stands where a L{benchmarks.servers.RunningServer} does for
L{benchmarks.scenarios.common.interleave} and L{benchmarks.loadgen.run}: its CPU is the
daemons' together, L{ServerGroup.cpuParts} gives each daemon's and Redis's, and its
C{ports} are the daemons' (the load generator spreads its clients over them).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from benchmarks import redisserver, servers
from benchmarks.servers import RunningServer, ServerSpec, ServerUnavailableError

#: The shared room's name in Redis (C{--chat-room}).
ROOM = "bench"

#: Log lines that count as trouble: Twisted's levels above info, and tracebacks.
TROUBLE = re.compile(r"#(warn|error|critical)\]|Traceback|Unhandled")


@dataclass
class GroupSpec:
    """
    How to run a group of netlab chat daemons.

    @ivar key: the group's key in the results.
    @ivar label: its name in the report.
    @ivar daemons: how many netlab daemons.
    @ivar redis: whether they share one room through a Redis of their own (L{False}: one
        daemon with its in-process room).
    @ivar protocol: C{"line"}, as for L{ServerSpec}.
    @ivar greets: netlab greets on connect.
    @ivar opensBlank: as for L{ServerSpec}.
    """

    key: str
    label: str
    daemons: int = 1
    redis: bool = False
    protocol: str = "line"
    greets: bool = True
    opensBlank: bool = False

    def available(self) -> str | None:
        """
        Whether the group can run here.

        @return: L{None} when it can, else the reason.
        """
        reason = servers.netlabAvailable()
        if reason or not self.redis:
            return reason
        if not redisserver.clientInstalled():
            return "txredisapi is not installed (pip install -e '.[redis]')"
        return redisserver.SPEC.available()

    def start(self) -> ServerGroup:
        """
        Start Redis (if any), then the daemons, each on a free loopback port.

        @return: the running group.
        @raise ServerUnavailableError: if it cannot run here or a process did not start.
        """
        reason = self.available()
        if reason:
            raise ServerUnavailableError(reason)
        return ServerGroup(self)


class ServerGroup:
    """
    A started group: Redis (or none) and the daemons, stopped together.

    @ivar spec: how it was started.
    @ivar redis: its Redis, or L{None}.
    @ivar daemons: the netlab daemons.
    @ivar problems: log lines that count as trouble (L{TROUBLE}) and unclean exits,
        filled in by L{stop}.
    """

    def __init__(self, spec: GroupSpec) -> None:
        self.spec = spec
        self.redis: RunningServer | None = None
        self.daemons: list[RunningServer] = []
        self.problems: list[str] = []
        try:
            extra: tuple[str, ...] = ()
            if spec.redis:
                self.redis = servers.start(redisserver.SPEC)
                url = f"redis://127.0.0.1:{self.redis.port}/0"
                extra = ("--chat-redis", url, "--chat-room", ROOM)
            for i in range(spec.daemons):
                daemon = ServerSpec(f"{spec.key}-{i}", f"{spec.label} daemon {i + 1}",
                                    servers.netlabChat(*extra), greets=True)
                self.daemons.append(servers.start(daemon))
        except ServerUnavailableError:
            self.stop()
            raise

    @property
    def ports(self) -> list[int]:
        """
        The daemons' loopback ports.
        """
        return [d.port for d in self.daemons]

    @property
    def port(self) -> int:
        """
        The first daemon's port.
        """
        return self.daemons[0].port

    @property
    def pid(self) -> int:
        """
        The first daemon's process id (for a profiler).
        """
        return self.daemons[0].pid

    def _members(self) -> list[tuple[str, RunningServer]]:
        named = [(f"netlab{i + 1}", d) for i, d in enumerate(self.daemons)]
        return named + ([("redis", self.redis)] if self.redis else [])

    def cpuParts(self) -> dict[str, int]:
        """
        CPU time used so far by each process: C{netlab1}, C{netlab2}, ..., C{redis}.

        @return: name -> microseconds (0 for a process that is gone).
        """
        parts = {}
        for name, proc in self._members():
            try:
                parts[name] = proc.cpuMicroseconds()
            except OSError:
                parts[name] = 0
        return parts

    def cpuMicroseconds(self) -> int:
        """
        CPU time the daemons have used so far, together (Redis not included).

        @return: microseconds.
        """
        parts = self.cpuParts()
        return sum(v for k, v in parts.items() if k != "redis")

    def alive(self) -> bool:
        """
        True while every process of the group runs.
        """
        return all(proc.alive() for _, proc in self._members())

    def tail(self, lines: int = 1) -> str:
        """
        The last lines of the processes that stopped.

        @param lines: how many for each.
        @return: C{name: lines}, joined with C{"; "}.
        """
        return "; ".join(f"{name}: {proc.tail(lines)}" for name, proc in self._members()
                         if not proc.alive())

    def quiesce(self, limit: float = 10.0, window: float = 0.15) -> float:
        """
        Wait until no process of the group burns CPU.

        @param limit: the longest to wait for each, in seconds.
        @param window: the sampling interval, in seconds.
        @return: the seconds waited.
        """
        return sum(proc.quiesce(limit, window) for _, proc in self._members())

    def stop(self) -> None:
        """
        Stop the daemons (SIGTERM: each publishes its members' leaves), then Redis;
        read the daemons' logs into L{problems}, then remove the work directories.
        """
        for i, daemon in enumerate(self.daemons):
            status = daemon.stop(clean=False)
            if status != 0:
                self.problems.append(f"netlab{i + 1} exited with status {status}")
            logs = sorted(daemon.workdir.glob(servers.NETLAB_LOG + "*"), reverse=True)
            self.problems += troubleLines(f"netlab{i + 1}", logs + [daemon.errlog])
            shutil.rmtree(daemon.workdir, ignore_errors=True)
        if self.redis:
            self.redis.stop()


def troubleLines(name: str, paths: list[Path]) -> list[str]:
    """
    The lines of a daemon's logs that count as trouble (L{TROUBLE}).

    @param name: the daemon's name, put before each line.
    @param paths: its log files, oldest first (twistd's rotated C{twistd.log.N}, then
        C{twistd.log}, then what it wrote to stderr).
    @return: the lines, those logged once it was told to stop marked C{(at shutdown)}.
    """
    found, stopping = [], False
    for path in paths:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            stopping = stopping or "Received SIGTERM" in line
            if TROUBLE.search(line):
                found.append(f"{name}{' (at shutdown)' if stopping else ''}: {line.strip()}")
    return found
