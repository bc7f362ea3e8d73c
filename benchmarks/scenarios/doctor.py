"""
Scenario 4: the Doctor over TCP, and the ELIZA engine alone beside nltk.chat.eliza.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
    rotated,
)
from benchmarks.scenarios.common import interleave, startAll, stopAll

CONCURRENCY = [1, 100]
SOURCES = 4
SPECS = [servers.NETLAB_DOCTOR, servers.TWISTED_ELIZA]
ENGINES = ["netlab", "nltk"]
WORKLOADS = ["conversation", "hostile-1k", "hostile-4k"]
LINEAR_LIMIT = 6.0  # 4 KiB/1 KiB cost per reply: 4 is linear, 16 would be quadratic


def run(ctx: Context) -> ScenarioResult:
    """
    Measure both parts: the Doctor over TCP, and the engine alone.

    @param ctx: the run's size, generators and logger.
    @return: tables and targets.
    """
    res = ScenarioResult("doctor", "Doctor: conversations over TCP and the engine alone")
    _tcp(ctx, res)
    _engine(ctx, res)
    return res


def _tcp(ctx: Context, res: ScenarioResult) -> None:
    running = startAll(ctx, SPECS, res.notes)
    try:
        samples = interleave(
            ctx, running, CONCURRENCY,
            lambda srv, c: [str(ctx.bins["doctor_rr"]), str(srv.port), str(c),
                            str(ctx.seconds), str(SOURCES), "1" if srv.spec.opensBlank else "0"],
            res.notes,
        )
    finally:
        stopAll(running)
    table = Table(
        "Doctor over TCP: one line sent, one reply awaited, per conversation "
        "(median of rounds)",
        ["conversations", "server", "replies/s", "server CPU µs/reply",
         "loadgen CPU µs/reply", "p50 ms", "p99 ms", "errors"],
    )
    for c in CONCURRENCY:
        for srv in running:
            runs = samples.get((srv.spec.key, c), [])
            if not runs:
                continue
            table.rows.append([
                str(c), srv.spec.label, fmt(median(r["rate"] for r in runs)),
                fmt(median(r["server_cpu_us"] / max(r["ops"], 1) for r in runs), 1),
                fmt(median(r["gen_cpu_us"] / max(r["ops"], 1) for r in runs), 1),
                fmt(median(r["p50_us"] for r in runs) / 1e3, 2),
                fmt(median(r["p99_us"] for r in runs) / 1e3, 2),
                fmt(sum(r["errors"] for r in runs)),
            ])
    table.notes.append(
        "The reference server is nltk's ELIZA behind a minimal Twisted LineReceiver; the "
        "client cycles through the same ordinary lines for both.")
    res.tables.append(table)


def _engineOnce(engine: str, workload: str, seconds: float) -> dict | None:
    cmd = [sys.executable, "-m", "benchmarks.engine_bench", engine, workload, str(seconds)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60 + 10 * seconds)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        raise RuntimeError(f"{engine} {workload}: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _engine(ctx: Context, res: ScenarioResult) -> None:
    seconds = max(0.2, ctx.seconds / 2)
    cost: dict[tuple[str, str], list[float]] = {}  # µs of CPU per reply
    engines = list(ENGINES)
    for rnd in range(ctx.rounds):
        for wl in WORKLOADS:
            for eng in rotated(engines, rnd):
                try:
                    r = _engineOnce(eng, wl, seconds)
                except RuntimeError as e:
                    res.notes.append(f"engine run failed: {e}")
                    if eng in engines and len(engines) > 1:
                        engines.remove(eng)
                    continue
                if r is None:
                    res.notes.append(f"{eng} {wl}: timed out")
                    continue
                cost.setdefault((eng, wl), []).append(r["cpu_s"] * 1e6 / r["replies"])
        ctx.log(f"  engine round {rnd + 1}/{ctx.rounds} done")

    med = {k: median(v) for k, v in cost.items()}
    table = Table(
        "Doctor engine alone: replies per CPU-second (median of rounds, one process per "
        "measurement)",
        ["workload", *[f"{e} replies/s" for e in ENGINES], *[f"{e} µs/reply" for e in ENGINES],
         "netlab / nltk speed"],
    )
    for wl in WORKLOADS:
        per = [med.get((e, wl), float("nan")) for e in ENGINES]
        table.rows.append([wl, *[fmt(1e6 / p) for p in per], *[fmt(p, 1) for p in per],
                           fmtRatio(ratio(per[1], per[0]))])
    growth = Table("Engine cost per reply, 4 KiB lines vs 1 KiB lines",
                   ["engine", "µs/reply at 1 KiB", "µs/reply at 4 KiB", "4 KiB / 1 KiB"])
    for e in ENGINES:
        a, b = med.get((e, "hostile-1k"), float("nan")), med.get((e, "hostile-4k"), float("nan"))
        growth.rows.append([e, fmt(a, 1), fmt(b, 1), fmtRatio(ratio(b, a))])
    table.notes += [
        "conversation: one session answering 30 ordinary lines in a cycle (a long "
        "conversation); hostile-1k/4k: 12 deterministic adversarial lines of exactly "
        "1 KiB / 4 KiB (keyword storms, no spaces, punctuation runs, non-ASCII).",
        "Speed ratio = nltk µs/reply ÷ netlab µs/reply: above 1 means netlab is faster.",
    ]
    growth.notes.append("Linear growth gives 4×; quadratic would give 16×.")
    res.tables += [table, growth]

    for wl in ("conversation", "hostile-4k"):
        r = ratio(med.get(("nltk", wl), float("nan")), med.get(("netlab", wl), float("nan")))
        res.targets.append(Target(f"Doctor engine replies/s ({wl})", "≥ 1.0× nltk.chat.eliza",
                                  fmtRatio(r), None if r != r else r >= 1.0))
    g = ratio(med.get(("netlab", "hostile-4k"), float("nan")),
              med.get(("netlab", "hostile-1k"), float("nan")))
    res.targets.append(Target("Doctor engine cost 4 KiB / 1 KiB", f"≈ 4× (≤ {LINEAR_LIMIT}×)",
                              fmtRatio(g), None if g != g else g <= LINEAR_LIMIT))
