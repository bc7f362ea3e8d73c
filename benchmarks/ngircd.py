"""
ngircd, Debian's C IRC server, as the native reference for the chat scenarios.

The harness finds C{ngircd} on the PATH (or in /usr/sbin), optionally installs it with
apt when running as root and allowed to, and writes its configuration at run time:
one pre-defined channel, penalties (flood throttling) off, no DNS/IDENT/PAM look-ups,
loopback only, no connection limits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from benchmarks import system
from benchmarks.servers import ServerSpec

CHANNEL = "#bench"

CONFIG = """\
[Global]
	Name = bench.netlab.invalid
	Info = netlab benchmark reference
	Listen = 127.0.0.1
	Ports = {port}
	MotdPhrase = "benchmark"
	PidFile = {workdir}/ngircd.pid

[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 16
	MaxPenaltyTime = 0
	PingTimeout = 3600
	PongTimeout = 3600

[Options]
	DNS = no
	Ident = no
	PAM = no

[Channel]
	Name = {channel}
	Topic = netlab benchmark
"""


def find() -> str | None:
    """
    Where the ngircd binary is.

    @return: its path, or L{None} when it is not installed.
    """
    return shutil.which("ngircd") or (
        "/usr/sbin/ngircd" if os.access("/usr/sbin/ngircd", os.X_OK) else None
    )


def install() -> str:
    """
    Install ngircd with apt (root only).

    @return: a one-line account of what happened.
    """
    return system.aptInstall("ngircd")


def version() -> str:
    """
    ngircd's version.

    @return: the first line of C{ngircd --version}, or C{"not installed"}.
    """
    path = find()
    if not path:
        return "not installed"
    out = subprocess.run([path, "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().splitlines()[0]


def _argv(port: int, workdir: Path) -> list[str]:
    conf = workdir / "ngircd.conf"
    conf.write_text(
        CONFIG.format(port=port, workdir=workdir, channel=CHANNEL)
    )
    return [find() or "ngircd", "-n", "-f", str(conf)]


def _available() -> str | None:
    return None if find() else "ngircd is not installed (run with --install as root)"


SPEC = ServerSpec("ngircd", "ngircd", _argv, protocol="irc", greets=True, available=_available)
