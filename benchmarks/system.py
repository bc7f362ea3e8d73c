"""
Facts about this machine and its processes, read from /proc.
"""

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


def cpuMicroseconds(pid: int) -> int:
    """
    User + system CPU time (utime + stime) of process C{pid}.

    @return: microseconds.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the ")" field 0 is state; utime and stime are fields 11 and 12
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000 // CLOCK_TICKS


def machineBusyMicroseconds() -> int:
    """
    CPU time the whole machine has spent busy (every core, every process, the kernel).

    @return: microseconds: user + nice + system + irq + softirq + steal from
        C{/proc/stat} (idle and iowait left out).
    """
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) * 1_000_000 // CLOCK_TICKS


def rssKiB(pid: int) -> int:
    """
    Resident set size of process C{pid}.

    @return: KiB (0 when the kernel does not say).
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tcpExt() -> dict[str, int]:
    """
    The TcpExt counters of C{/proc/net/netstat} (ListenOverflows, ListenDrops, ...).

    @return: counter name -> value.
    """
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            return dict(zip(names.split()[1:], map(int, values.split()[1:]), strict=False))
    return {}


def listenOverflows() -> int:
    """
    System-wide count of SYNs/ACKs dropped because a listen queue was full.
    """
    return tcpExt().get("ListenOverflows", 0)


def raiseOpenFilesLimit() -> tuple[int, int]:
    """
    Raise this process's open-files soft limit to the hard limit; children inherit it.

    @return: the soft and hard limits now.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 that nothing listens on right now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def waitForPort(port: int, timeout: float = 20.0, alive: Callable[[], bool] = lambda: True) -> bool:
    """
    Wait until something accepts connections on 127.0.0.1:C{port}.

    @param timeout: the longest to wait, in seconds.
    @param alive: returns whether to go on waiting (whether the server still runs).
    @return: C{True} when a connection succeeded; C{False} if C{alive()} turned
        C{False} first or the time-out passed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def aptInstall(package: str) -> str:
    """
    Install a Debian package with apt (root only).

    @param package: its name.
    @return: a one-line account of what happened.
    """
    if os.geteuid() != 0:
        return f"not root: cannot apt-get install {package}"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    steps = (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", package])
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        except (OSError, subprocess.SubprocessError) as e:
            return f"{' '.join(cmd)} failed: {e}"
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            return f"{' '.join(cmd)} failed: {' '.join(tail)}"
    return "installed with apt-get"


def _firstLine(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not found"


def cpuModel() -> str:
    """
    The CPU model name from C{/proc/cpuinfo}.
    """
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def describe(extra: dict[str, str] | None = None) -> dict[str, str]:
    """
    The machine description written beside every result.

    @param extra: more entries, added after the standard ones.
    @return: entry name -> value.
    """
    try:
        import twisted

        twistedVersion = twisted.__version__
    except ImportError:
        twistedVersion = "not installed"
    load1, load5, _ = os.getloadavg()
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpuModel(),
        "cores": str(os.cpu_count()),
        "memory": f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f} GiB",
        "kernel": platform.release(),
        "os": _firstLine(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": sys.version.split()[0],
        "twisted": twistedVersion,
        "cc": _firstLine(["cc", "--version"]),
        "load average at start (1 min, 5 min)": f"{load1:.2f}, {load5:.2f}",
        "open files limit": "%d/%d" % resource.getrlimit(resource.RLIMIT_NOFILE),
    }
    info.update(extra or {})
    return info
