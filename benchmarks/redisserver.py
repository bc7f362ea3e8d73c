"""
Redis, the log that netlab's shared chat room (C{--chat-redis}) is kept in.

The harness finds C{redis-server} on the PATH (or in /usr/bin), optionally installs
Debian's package with apt when running as root and allowed to, and starts one private
instance per group of daemons: loopback only, on a free port, nothing written to disk.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from benchmarks import system
from benchmarks.servers import ServerSpec


def find() -> str | None:
    """
    Where the redis-server binary is.

    @return: its path, or L{None} when it is not installed.
    """
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
    )


def install() -> str:
    """
    Install Debian's redis-server with apt (root only).

    @return: a one-line account of what happened.
    """
    return system.aptInstall("redis-server")


def version() -> str:
    """
    Redis's version.

    @return: for example C{"Redis server v=7.0.15"}, or C{"not installed"}.
    """
    path = find()
    if not path:
        return "not installed"
    out = subprocess.run([path, "--version"], capture_output=True, text=True)
    words = (out.stdout or out.stderr).split()
    return " ".join(words[:3]) if words else "unknown version"


def clientInstalled() -> bool:
    """
    Whether netlab's Redis client (txredisapi, the C{redis} extra) is installed.
    """
    return importlib.util.find_spec("txredisapi") is not None


def replyParser() -> str:
    """
    Which reply parser txredisapi gives the daemons (they run under this interpreter).

    @return: C{"hiredis (C)"} when hiredis is importable, which txredisapi then uses,
        else its pure-Python parser, which returns to the reactor after every bulk
        string of a reply.
    """
    if importlib.util.find_spec("hiredis") is not None:
        return "hiredis (C)"
    return "txredisapi's pure-Python parser (hiredis not installed)"


def _argv(port: int, _workdir: Path) -> list[str]:
    return [find() or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no"]


def _available() -> str | None:
    return None if find() else "redis-server is not installed (run with --install as root)"


SPEC = ServerSpec("redis", "Redis", _argv, available=_available)
