"""
Scenario 1: Day/Time short connections at 1, 16 and 128 concurrent connections.
"""

from __future__ import annotations

import time

from benchmarks import servers
from benchmarks.results import (
    Context,
    ScenarioResult,
    Table,
    Target,
    fmt,
    fmtRatio,
    median,
    ratio,
)
from benchmarks.scenarios.common import interleave, startAll, stopAll

CONCURRENCY = [1, 16, 128]
TIMEOUT_MS = 3000  # a connection without its reply after 3 s counts as an error
SOURCES = 8  # 127.0.0.2..9: ~8 x 28k ephemeral ports, far more than a run needs
SPECS = [servers.NETLAB_DAYTIME, servers.TWISTED_DAYTIME, servers.ASYNCIO_DAYTIME,
         servers.COURSE_DAYTIME]


def run(ctx: Context) -> ScenarioResult:
    """
    Measure every Day/Time server.

    @param ctx: the run's size, generators and logger.
    @return: tables, targets and plot series.
    """
    res = ScenarioResult("daytime", "Day/Time: short connections")
    running = startAll(ctx, SPECS, res.notes)
    try:
        samples = interleave(
            ctx, running, CONCURRENCY,
            lambda srv, c: [str(ctx.bins["daytime_storm"]), str(srv.port), str(c),
                            str(ctx.seconds), str(TIMEOUT_MS), str(SOURCES)],
            res.notes, restart=True, afterRun=_countAccessLines,
        )
    finally:
        stopAll(running)
    labels = {s.spec.key: s.spec.label for s in running}

    table = Table(
        "Day/Time: connections/s, CPU and latency (median of rounds; errors and overflows summed)",
        ["concurrency", "server", "conn/s", "server CPU µs/conn", "loadgen CPU µs/conn",
         "loadgen % of a core",
         "p50 ms", "p99 ms", "p99.9 ms", "errors", "ListenOverflows", "access lines"],
    )
    stats: dict[tuple[str, int], dict[str, float]] = {}
    for c in CONCURRENCY:
        for key, label in labels.items():
            runs = samples.get((key, c), [])
            if not runs:
                continue
            st = {
                "rate": median(r["rate"] for r in runs),
                "cpu": median(r["server_cpu_us"] / max(r["ok"], 1) for r in runs),
                "gen": median(r["gen_cpu_us"] / max(r["ok"], 1) for r in runs),
                "gen_core": median(r["gen_cpu_us"] / r["seconds"] / 1e4 for r in runs),
                "p50": median(r["p50_us"] for r in runs) / 1e3,
                "p99": median(r["p99_us"] for r in runs) / 1e3,
                "p999": median(r["p999_us"] for r in runs) / 1e3,
                "errors": sum(r["errors"] for r in runs),
                "overflows": sum(r["listen_overflows"] for r in runs),
                "ok": sum(r["ok"] for r in runs),
                "cpu_total": sum(r["server_cpu_us"] for r in runs),
                "lines": sum(r.get("access_lines", 0) for r in runs),
                "logged": all("access_lines" in r for r in runs),
            }
            stats[(key, c)] = st
            table.rows.append([str(c), label, fmt(st["rate"]), fmt(st["cpu"], 1),
                               fmt(st["gen"], 1), fmt(st["gen_core"]), fmt(st["p50"], 2),
                               fmt(st["p99"], 2), fmt(st["p999"], 2), fmt(st["errors"]),
                               fmt(st["overflows"]),
                               f"{st['lines']:,} of {st['ok']:,}" if st["logged"] else "–"])
            res.series.setdefault("daytime_rate", {}).setdefault(label, []).append(
                (c, st["rate"]))
            res.series.setdefault("daytime_p99", {}).setdefault(label, []).append(
                (c, st["p99"]))
    table.notes.append(
        "Errors = refused + reset + timed out (no reply within %d ms) + wrong reply. "
        "ListenOverflows is the kernel's counter (/proc/net/netstat) over each run's "
        "window; run as root, the harness has its own network namespace, so the counter "
        "is this run's alone (see 'network namespace' above). Every server is restarted "
        "after each run, so a baseline's overflowed queue (whose SYN-ACK retransmits go on "
        "for ~30 s) cannot count in the next server's window." % TIMEOUT_MS)
    table.notes.append(
        "loadgen CPU is the C client's own CPU (getrusage); on loopback it also pays the "
        "kernel's TCP handshake work for both ends, which is why it can exceed the blocking "
        "course server's. It stays well under one core, so the client is not the bottleneck.")
    table.notes.append(
        "access lines: 'daytime: served PEER' lines in netlab's log file (a real file in "
        "its work folder, as twistd --logfile writes it) after each run, against the "
        "connections the client saw answered: every connection has its line "
        "(netlab.accesslog writes them in batches).")
    table.notes.append(
        "Latency is connect() to EOF; connections that time out enter the percentiles at "
        "the time they were abandoned (≥ %d ms)." % TIMEOUT_MS)
    res.tables.append(table)
    res.targets.extend(_targets(stats, labels))
    return res


def _countAccessLines(srv: servers.RunningServer, phases: list[dict]) -> None:
    """
    Count netlab's access lines for the run just done (the access log writes
    its batches within a quarter of a second) into its phase results.
    """
    if srv.spec.key != "netlab":
        return
    path = srv.workdir / servers.NETLAB_LOG
    answered = sum(ph["ok"] for ph in phases)
    deadline = time.monotonic() + 5
    while True:
        try:
            with open(path, "rb") as log:
                lines = sum(line.count(b"daytime: served ") for line in log)
        except OSError:
            lines = 0
        if lines >= answered or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for ph in phases:  # (a run has one phase)
        ph["access_lines"] = lines


def _pooledCpu(stats: dict, key: str) -> float:
    runs = [v for (k, _c), v in stats.items() if k == key]
    ok = sum(v["ok"] for v in runs)
    return sum(v["cpu_total"] for v in runs) / ok if ok else float("nan")


def _targets(stats: dict, labels: dict[str, str]) -> list[Target]:
    targets = []
    if "netlab" not in labels:
        return [Target("Day/Time", "all targets", "netlab not running", None)]
    r = ratio(_pooledCpu(stats, "netlab"), _pooledCpu(stats, "twisted"))
    targets.append(Target(
        "Day/Time CPU per connection",
        "≤ 1.2× bare Twisted, every connection logged (all concurrencies pooled)",
        fmtRatio(r), None if r != r else r <= 1.2))
    runs = [v for (k, _c), v in stats.items() if k == "netlab"]
    if runs and all(v["logged"] for v in runs):
        lines, ok = sum(v["lines"] for v in runs), sum(v["ok"] for v in runs)
        targets.append(Target(
            "Day/Time access lines", "one per connection answered",
            f"{lines:,} lines, {ok:,} connections answered", lines >= ok))
    n128 = stats.get(("netlab", 128))
    if n128:
        clean = n128["errors"] == 0 and n128["overflows"] == 0
        targets.append(Target(
            "Day/Time errors at 128", "0 errors and 0 ListenOverflows",
            f"{n128['errors']:.0f} errors, {n128['overflows']:.0f} overflows", clean))
        for base in ("twisted", "course"):
            b = stats.get((base, 128))
            if not b:
                continue
            r = ratio(b["p999"], n128["p999"])
            targets.append(Target(
                f"Day/Time p99.9 at 128 vs {labels[base]}", "baseline ≥ 10× netlab's",
                f"{fmtRatio(r)} ({fmt(b['p999'], 2)} ms vs {fmt(n128['p999'], 2)} ms)",
                None if r != r else r >= 10))
    return targets
