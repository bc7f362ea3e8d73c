"""Facts about this machine and its processes, read from /proc."""

from __future__ import annotations

import os
import platform
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def cpu_us(pid: int) -> int:
    """User + system CPU time (utime + stime) of process ``pid`` in µs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the ")" field 0 is state; utime and stime are fields 11 and 12
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000 // CLOCK_TICKS


def rss_kb(pid: int) -> int:
    """Resident set size of process ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tcp_ext() -> dict[str, int]:
    """The TcpExt counters of /proc/net/netstat (ListenOverflows, ListenDrops, ...)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            return dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=False))
    return {}


def listen_overflows() -> int:
    """System-wide count of SYNs/ACKs dropped because a listen queue was full."""
    return tcp_ext().get("ListenOverflows", 0)


def raise_nofile() -> tuple[int, int]:
    """Raise this process's open-files soft limit to the hard limit; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, alive: Callable[[], bool] = lambda: True) -> bool:
    """Wait until something accepts connections on 127.0.0.1:port (False if ``alive()``
    turns False first or the time-out passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not found"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def describe(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The machine description written beside every result."""
    try:
        import twisted

        twisted_version = twisted.__version__
    except ImportError:
        twisted_version = "not installed"
    load1, load5, _ = os.getloadavg()
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f} GiB",
        "kernel": platform.release(),
        "os": _first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": sys.version.split()[0],
        "twisted": twisted_version,
        "cc": _first_line(["cc", "--version"]),
        "load average at start (1 min, 5 min)": f"{load1:.2f}, {load5:.2f}",
        "open files limit": "%d/%d" % resource.getrlimit(resource.RLIMIT_NOFILE),
    }
    info.update(extra or {})
    return info
