"""
Run a C load generator and pair its figures with the server's CPU over the same window.

The generators print C{START phase} / C{END phase} around each measured window; at
each marker this module samples the server's CPU time (/proc/PID/stat) and the kernel's
ListenOverflows counter, then attaches the deltas to that phase's C{RESULT} line.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import system
from benchmarks.servers import RunningServer


class GeneratorError(RuntimeError):
    """
    The generator failed (FATAL line, crash or time-out).
    """


class LineProcess:
    """
    A child process whose stdout is read line by line with time-outs.

    @ivar proc: the child process.
    @ivar fd: its stdout's file descriptor.
    @ivar sel: a selector watching C{fd}.
    @ivar buf: what has been read of a line not yet complete.
    """

    def __init__(self, argv: list[str], stdin: int | None = subprocess.DEVNULL) -> None:
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)
        self.buf = b""

    def readline(self, timeout: float) -> str | None:
        """
        The next line of the child's stdout.

        @param timeout: seconds to wait for it.
        @return: the line without its C{\\n}, or L{None} at end of stream.
        @raise GeneratorError: if no line comes within C{timeout} (the child is killed).
        """
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise GeneratorError(f"no output for {timeout:.0f} s")
            if self.sel.select(left):
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    if self.buf:
                        line, self.buf = self.buf, b""
                        return line.decode(errors="replace")
                    return None
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def stderrTail(self) -> str:
        """
        Whatever the generator wrote to stderr (after it exited).

        @return: its last 300 characters, or nothing while the child still runs.
        """
        if self.proc.stderr is None or self.proc.poll() is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace").strip()[-300:]

    def kill(self) -> None:
        """
        Kill the child if it still runs and reap it.
        """
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sel.close()

    def wait(self, timeout: float = 30) -> int:
        """
        Wait for exit.

        @param timeout: seconds to wait.
        @return: the exit status.
        """
        try:
            return self.proc.wait(timeout)
        finally:
            self.sel.close()


def _sample(server: RunningServer) -> tuple[int, int, int, dict[str, int]]:
    """
    The server's CPU, the ListenOverflows counter, the machine's busy CPU, and each
    process's CPU when the server is a group of them.
    """
    parts = getattr(server, "cpuParts", None)
    return (server.cpuMicroseconds(), system.listenOverflows(),
            system.machineBusyMicroseconds(), parts() if parts else {})


def run(argv: list[str], server: RunningServer, timeout: float = 120,
        onLine: Callable[[str], None] | None = None) -> list[dict]:
    """
    Run C{argv} to completion.

    @param argv: the generator's command line.
    @param server: the server under test, whose CPU is sampled at START and END.
    @param timeout: the longest the generator may stay silent, in seconds.
    @param onLine: if given, called with every line the generator prints.
    @return: one dict per phase: the generator's RESULT plus C{server_cpu_us} (server
        CPU between START and END), C{listen_overflows} (kernel counter delta over the
        same window), C{machine_cpu_us} (the whole machine's busy CPU over the window,
        every process included: the others' share tells how quiet the machine was) and
        C{server_alive}; for a group of processes
        (L{benchmarks.servergroup.ServerGroup}) also C{cpu_parts_us}, each process's
        CPU over the window.
    @raise GeneratorError: on a FATAL line, crash or time-out.
    """
    if not Path(argv[0]).exists():
        raise GeneratorError(f"{argv[0]} is not built")
    child = LineProcess(argv)
    marks: dict[str, tuple[int, int, int, dict[str, int]]] = {}
    spans: dict[str, tuple[int, int, int, dict[str, int]]] = {}
    results: list[dict] = []
    try:
        while (line := child.readline(timeout)) is not None:
            word, _, rest = line.partition(" ")
            if word == "START":
                marks[rest] = _sample(server)
            elif word == "END":
                cpu0, ovf0, busy0, parts0 = marks.pop(rest, None) or _sample(server)
                cpu1, ovf1, busy1, parts1 = _sample(server)
                spans[rest] = (cpu1 - cpu0, ovf1 - ovf0, busy1 - busy0,
                               {k: v - parts0.get(k, 0) for k, v in parts1.items()})
            elif word == "RESULT":
                res = json.loads(rest)
                cpu, ovf, busy, parts = spans.get(res["phase"], (0, 0, 0, {}))
                res.update(server_cpu_us=cpu, listen_overflows=ovf, machine_cpu_us=busy,
                           server_alive=server.alive())
                if parts:
                    res["cpu_parts_us"] = parts
                results.append(res)
            elif word == "FATAL":
                child.kill()
                raise GeneratorError(f"{Path(argv[0]).name}: {rest}")
            if onLine:
                onLine(line)
        status = child.wait()
    except BaseException:
        child.kill()
        raise
    if status != 0:
        raise GeneratorError(f"{Path(argv[0]).name} exited {status}: {child.stderrTail()}")
    return results
