"""
Compile the C load generators with the system C{cc} into C{benchmarks/build/}.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "loadgen"
BUILD = HERE / "build"
PROGRAMS = ("daytime_storm", "chat_fanout", "idle_hold", "doctor_rr")


def buildAll(force: bool = False) -> dict[str, Path]:
    """
    Build every generator whose binary is missing or older than its sources.

    @param force: rebuild every generator, even those that are up to date.
    @return: program name -> path of its binary.
    @raise RuntimeError: with the compiler's message, if C{cc} is missing or a build
        fails.
    """
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler: install one (apt-get install -y gcc)")
    BUILD.mkdir(exist_ok=True)
    header = SOURCES / "common.h"
    paths = {}
    for name in PROGRAMS:
        src = SOURCES / f"{name}.c"
        out = BUILD / name
        newest = max(src.stat().st_mtime, header.stat().st_mtime)
        if force or not out.exists() or out.stat().st_mtime < newest:
            cmd = [cc, "-O2", "-Wall", "-Wextra", "-o", str(out), str(src)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"building {name} failed:\n{proc.stderr}")
        paths[name] = out
    return paths
