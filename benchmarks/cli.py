"""
Command line: C{python -m benchmarks [--quick] [--install] [--only ...]}.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import build, ngircd, redisserver, report, system
from benchmarks.results import Context, ScenarioResult

HERE = Path(__file__).resolve().parent
SCENARIOS = ("daytime", "chat", "idle", "doctor", "shared")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """
    Parse the command line.

    @param argv: the arguments, or L{None} for C{sys.argv[1:]}.
    @return: the options.
    """
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Runs netlab beside its baselines and reports the ratios.",
    )
    p.add_argument("--quick", action="store_true",
                   help="smoke run of every scenario (< 2 min), results in results/quick/")
    p.add_argument("--install", action="store_true",
                   help="apt-get install ngircd (and redis-server, for the shared "
                        "scenario) if missing (root only; the full run does this by default)")
    p.add_argument("--no-install", action="store_true",
                   help="never install ngircd or redis-server, even in a full run")
    p.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    p.add_argument("--seconds", type=float,
                   help="measured seconds per run (default 2, quick 0.4)")
    p.add_argument("--out", type=Path, help="output directory")
    p.add_argument("--no-netns", action="store_true",
                   help="stay in the shared network namespace (by default, as root, the "
                        "run moves into a private one so that kernel counters such as "
                        "ListenOverflows count only this run's sockets)")
    return p.parse_args(argv)


NETNS_ENV = "NETLAB_BENCH_NETNS"


def netnsArgv(argv: list[str]) -> list[str] | None:
    """
    The command that re-runs us in a private network namespace with loopback up.

    @param argv: our own arguments, passed on to the new run.
    @return: the command, or L{None} when that is not possible here (not root, no
        C{unshare}/C{ip}, or C{unshare} refused).
    """
    if os.environ.get(NETNS_ENV) or os.geteuid() != 0:
        return None
    if not (shutil.which("unshare") and shutil.which("ip")):
        return None
    probe = subprocess.run(["unshare", "-n", "--", "ip", "link", "set", "lo", "up"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
            sys.executable, "-m", "benchmarks", *argv]


def _ngircd(args: argparse.Namespace, log) -> str:
    """
    Detect ngircd, installing it when allowed.

    @param args: the options (C{--install}, C{--no-install}, C{--quick}).
    @param log: called with each line of progress.
    @return: a note for the report: ngircd's version, or why it is missing.
    """
    return _ensure(ngircd, "ngircd", args, log)


def _redis(args: argparse.Namespace, log) -> str:
    """
    Detect redis-server, installing it when allowed, for the shared scenario.

    @param args: the options (C{--install}, C{--no-install}, C{--quick}, C{--only}).
    @param log: called with each line of progress.
    @return: a note for the report: Redis's version, or why it is missing.
    """
    if args.only and "shared" not in args.only:
        return "not needed (shared scenario not run)"
    return _ensure(redisserver, "redis-server", args, log)


def _ensure(tool, package: str, args: argparse.Namespace, log) -> str:
    """
    Find a baseline server, or install it with apt-get: always in a full run,
    in a quick one only with C{--install}, never with C{--no-install}.

    @param tool: its module (L{ngircd}, L{redisserver}): C{find}, C{version}, C{install}.
    @param package: its Debian package, for messages.
    @return: a note for the report: its version, or why it is missing.
    """
    if tool.find():
        return tool.version()
    allowed = (args.install or not args.quick) and not args.no_install
    if not allowed:
        return "not installed (skipped; pass --install to apt-get install it)"
    log(f"installing {package} with apt-get ...")
    outcome = tool.install()
    log(f"  {outcome}")
    return tool.version() if tool.find() else f"not installed ({outcome})"


def _netlabSource() -> str:
    """
    Which netlab was measured: the commit, and a digest of any uncommitted changes.

    @return: for example C{"0815d94 + uncommitted changes in netlab/ (digest 3f2a9c1e)"}.
    """
    def git(*args: str) -> bytes:
        return subprocess.run(["git", "-C", str(HERE.parent), *args], capture_output=True,
                              timeout=30).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").decode().strip()
        diff = git("diff", "HEAD", "--", "netlab")
        new = git("ls-files", "--others", "--exclude-standard", "--", "netlab")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    if not head:
        return "unknown (not a git checkout)"
    if not diff and not new:
        return head
    digest = hashlib.sha256(diff)
    for name in new.decode().split():
        digest.update(name.encode() + (HERE.parent / name).read_bytes())
    return f"{head} + uncommitted changes in netlab/ (digest {digest.hexdigest()[:8]})"


def main(argv: list[str] | None = None) -> int:
    """
    Run the selected scenarios and write the report.

    @param argv: the arguments, or L{None} for C{sys.argv[1:]}.
    @return: the exit status: 0 when every scenario ran, 1 when one crashed, 2 when
        the load generators could not be built.
    """
    args = parse(argv)
    started = time.monotonic()
    out = args.out or (HERE / "results" / ("quick" if args.quick else ""))

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", flush=True)

    loadStart = os.getloadavg()
    limits = system.raiseOpenFilesLimit()
    log(f"open files limit {limits[0]}/{limits[1]}")
    try:
        bins = build.buildAll()
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ngircdNote = _ngircd(args, log)  # before the move: installing needs the network
    redisNote = _redis(args, log)
    argv = sys.argv[1:] if argv is None else argv
    if not args.no_netns and (cmd := netnsArgv(argv)):
        log("moving into a private network namespace (loopback only)")
        sys.stdout.flush()
        os.execvpe(cmd[0], cmd, dict(os.environ, **{NETNS_ENV: "1"}))
    netns = ("private (unshare -n): counters are this run's alone" if os.environ.get(NETNS_ENV)
             else "shared: ListenOverflows may include other processes' sockets")
    ctx = Context(
        quick=args.quick,
        rounds=args.rounds or (1 if args.quick else 3),
        seconds=args.seconds or (0.4 if args.quick else 2.0),
        bins=bins, log=log, out=out, ngircdNote=ngircdNote, redisNote=redisNote,
    )
    from benchmarks.scenarios import chat, daytime, doctor, idle, shared

    modules = {"daytime": daytime, "chat": chat, "idle": idle, "doctor": doctor,
               "shared": shared}
    source = _netlabSource()
    results: list[ScenarioResult] = []
    failed = False
    for name in args.only or SCENARIOS:
        log(f"scenario {name}")
        try:
            results.append(modules[name].run(ctx))
        except Exception as e:  # one broken scenario must not lose the others' results
            failed = True
            log(f"  scenario {name} failed: {e!r}")
            results.append(ScenarioResult(name, f"{name}: failed", notes=[repr(e)]))
    machine = system.describe({
        "load average at start (1 min, 5 min)": "%.2f, %.2f" % loadStart[:2],
        "ngircd": ngircdNote,
        "redis": redisNote,
        "netlab source": source if source == _netlabSource()
        else f"{source} at start, {_netlabSource()} at end: netlab/ changed during the run",
        "network namespace": netns,
        "rounds": str(ctx.rounds),
        "seconds per run": str(ctx.seconds),
        "load average at end (1 min)": "%.2f" % os.getloadavg()[0],
    })
    command = "python -m benchmarks" + (" " + " ".join(argv)).rstrip()
    md = report.write(results, machine, out, command.strip(), time.monotonic() - started)
    log(f"wrote {md}")
    for res in results:
        for t in res.targets:
            mark = {True: "met", False: "MISSED", None: "n/a"}[t.met]
            log(f"  {mark:7} {t.name}: {t.value} ({t.rule})")
    return 1 if failed else 0
