"""Run a C load generator and pair its figures with the server's CPU over the same window.

The generators print ``START phase`` / ``END phase`` around each measured window; at
each marker this module samples the server's CPU time (/proc/PID/stat) and the kernel's
ListenOverflows counter, then attaches the deltas to that phase's ``RESULT`` line.
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
    """The generator failed (FATAL line, crash or time-out)."""


class LineProcess:
    """A child process whose stdout is read line by line with time-outs."""

    def __init__(self, argv: list[str], stdin: int | None = subprocess.DEVNULL) -> None:
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)
        self.buf = b""

    def readline(self, timeout: float) -> str | None:
        """The next line, or None at end of stream; raises GeneratorError on time-out."""
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

    def stderr_tail(self) -> str:
        """Whatever the generator wrote to stderr (after it exited)."""
        if self.proc.stderr is None or self.proc.poll() is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace").strip()[-300:]

    def kill(self) -> None:
        """Kill the child if it still runs and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sel.close()

    def wait(self, timeout: float = 30) -> int:
        """Wait for exit; returns the exit status."""
        try:
            return self.proc.wait(timeout)
        finally:
            self.sel.close()


def run(argv: list[str], server: RunningServer, timeout: float = 120,
        on_line: Callable[[str], None] | None = None) -> list[dict]:
    """Run ``argv`` to completion; returns one dict per phase.

    Each dict is the generator's RESULT plus ``server_cpu_us`` (server CPU between START
    and END), ``listen_overflows`` (kernel counter delta over the same window) and
    ``server_alive``. Raises ``GeneratorError`` on a FATAL line, crash or time-out.
    """
    if not Path(argv[0]).exists():
        raise GeneratorError(f"{argv[0]} is not built")
    child = LineProcess(argv)
    marks: dict[str, tuple[int, int]] = {}
    spans: dict[str, tuple[int, int]] = {}
    results: list[dict] = []
    try:
        while (line := child.readline(timeout)) is not None:
            word, _, rest = line.partition(" ")
            if word == "START":
                marks[rest] = (server.cpu_us(), system.listen_overflows())
            elif word == "END":
                cpu0, ovf0 = marks.pop(rest, (server.cpu_us(), system.listen_overflows()))
                spans[rest] = (server.cpu_us() - cpu0, system.listen_overflows() - ovf0)
            elif word == "RESULT":
                res = json.loads(rest)
                cpu, ovf = spans.get(res["phase"], (0, 0))
                res.update(server_cpu_us=cpu, listen_overflows=ovf, server_alive=server.alive())
                results.append(res)
            elif word == "FATAL":
                child.kill()
                raise GeneratorError(f"{Path(argv[0]).name}: {rest}")
            if on_line:
                on_line(line)
        status = child.wait()
    except BaseException:
        child.kill()
        raise
    if status != 0:
        raise GeneratorError(f"{Path(argv[0]).name} exited {status}: {child.stderr_tail()}")
    return results
