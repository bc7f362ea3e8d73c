"""
Scenario 2: chat fan-out, R readers x S senders, at a paced rate and at maximum rate.
"""

from __future__ import annotations

from benchmarks import ngircd, servers
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

READERS = [10, 100, 1000]
SENDERS = [1, 10]
PACED_RATE = 50  # messages/s over all senders
WINDOW = 16  # max rate: messages per sender not yet seen by every reader
OPEN_MESSAGES = 2000  # open loop: messages written at once, over all senders
OPEN_TIMEOUT = 30  # ... and the longest their delivery may take, in seconds
SOURCES = 8
SPECS = [servers.NETLAB_CHAT, servers.TWISTED_CHAT, ngircd.SPEC]


def configs(quick: bool) -> list[tuple[int, int]]:
    """
    The sizes to measure; the smoke run keeps the corners only.

    @param quick: whether this is the smoke run.
    @return: (readers, senders) pairs.
    """
    if quick:
        return [(10, 1), (1000, 10)]
    return [(r, s) for r in READERS for s in SENDERS]


def run(ctx: Context) -> ScenarioResult:
    """
    Measure every chat server.

    @param ctx: the run's size, generators and logger.
    @return: tables, targets and plot series.
    """
    res = ScenarioResult("chat", "Chat: fan-out")
    if ctx.ngircdNote.startswith("not installed"):
        res.notes.append(f"ngircd {ctx.ngircdNote}")
    running = startAll(ctx, SPECS, res.notes)
    cfgs = configs(ctx.quick)

    def phases(senders: int) -> str:
        flood = -(OPEN_MESSAGES // senders)
        return f"paced:{PACED_RATE}:{ctx.seconds},max:0:{ctx.seconds},open:{flood}:{OPEN_TIMEOUT}"

    try:
        samples = interleave(
            ctx, running, cfgs,
            lambda srv, cfg: [str(ctx.bins["chat_fanout"]), srv.spec.protocol, str(srv.port),
                              str(cfg[0]), str(cfg[1]), str(SOURCES),
                              "1" if srv.spec.greets else "0", str(WINDOW), phases(cfg[1])],
            res.notes, timeout=180,
        )
    finally:
        stopAll(running)
    labels = {s.spec.key: s.spec.label for s in running}

    table = Table(
        "Chat: deliveries/s (messages x readers), latency, CPU and loss "
        "(median of rounds; loss summed)",
        ["readers", "senders", "server", f"p50 ms @{PACED_RATE}/s", f"p99 ms @{PACED_RATE}/s",
         "max deliveries/s", "p99 ms @max", "open-loop deliveries/s", "p99 ms open loop",
         "server CPU µs/delivery", "loadgen CPU µs/delivery", "lost", "reordered"],
    )
    stats: dict[tuple[str, tuple[int, int]], dict[str, float]] = {}
    for cfg in cfgs:
        for key, label in labels.items():
            runs = samples.get((key, cfg), [])
            paced = [r for r in runs if r["phase"] == "paced"]
            peak = [r for r in runs if r["phase"] == "max"]
            flood = [r for r in runs if r["phase"] == "open"]
            if not runs:
                continue
            st = {
                "p50": median(r["p50_us"] for r in paced) / 1e3,
                "p99": median(r["p99_us"] for r in paced) / 1e3,
                "rate": median(r["rate"] for r in peak),
                "p99max": median(r["p99_us"] for r in peak) / 1e3,
                "open": median(r["rate"] for r in flood),
                "p99open": median(r["p99_us"] for r in flood) / 1e3,
                "cpu": median(r["server_cpu_us"] / max(r["delivered"], 1) for r in peak),
                "gen": median(r["gen_cpu_us"] / max(r["delivered"], 1) for r in peak),
                "lost": sum(r["lost"] for r in runs),
                "reordered": sum(r["reordered"] + r["dups"] for r in runs),
            }
            stats[(key, cfg)] = st
            table.rows.append([str(cfg[0]), str(cfg[1]), label, fmt(st["p50"], 2),
                               fmt(st["p99"], 2), fmt(st["rate"]), fmt(st["p99max"], 2),
                               fmt(st["open"]), fmt(st["p99open"], 2),
                               fmt(st["cpu"], 2), fmt(st["gen"], 2), fmt(st["lost"]),
                               fmt(st["reordered"])])
            sfx = "" if cfg[1] == 1 else f" (S={cfg[1]})"
            res.series.setdefault("chat_rate", {}).setdefault(label + sfx, []).append(
                (cfg[0], st["rate"]))
            res.series.setdefault("chat_p99", {}).setdefault(label + sfx, []).append(
                (cfg[0], st["p99"]))
    table.notes += [
        f"Paced: {PACED_RATE} messages/s in total over the senders. Max: each sender keeps "
        f"at most {WINDOW} messages not yet received by every reader (closed loop), so no "
        "server is flooded past what it delivers. Open loop: the senders write "
        f"{OPEN_MESSAGES} messages in all at once (each its share, as fast as TCP takes "
        "them), and the rate is deliveries over the time from the first write to the "
        "last delivery.",
        "Latency is send to receipt by a reader, from a timestamp inside the message. "
        "Lost = deliveries still missing 3 s after sending stopped; reordered = a sequence "
        "number lower than one already received from the same sender (or a duplicate).",
        "netlab runs with --chat-rate 0 --chat-sendq 64M and its default history (20).",
        "ngircd: one channel, MaxPenaltyTime = 0 (no flood penalties), no DNS/IDENT/PAM; "
        "its clients register with NICK/USER and JOIN the channel.",
    ]
    res.tables.append(table)
    res.targets.extend(_targets(stats, labels, cfgs))
    return res


def _targets(stats: dict, labels: dict[str, str], cfgs: list) -> list[Target]:
    if "netlab" not in labels:
        return [Target("Chat", "all targets", "netlab not running", None)]
    targets = []
    big = [c for c in cfgs if c[0] == max(r for r, _ in cfgs)]
    for cfg in big:
        n = stats.get(("netlab", cfg))
        g = stats.get(("ngircd", cfg))
        r = ratio(n["rate"], g["rate"]) if n and g else float("nan")
        targets.append(Target(
            f"Chat deliveries/s R={cfg[0]} S={cfg[1]}", "≥ 1.0× ngircd",
            fmtRatio(r) + (f" ({fmt(n['rate'])} vs {fmt(g['rate'])})" if n and g else ""),
            None if r != r else r >= 1.0))
        r = ratio(n["open"], g["open"]) if n and g else float("nan")
        targets.append(Target(
            f"Chat deliveries/s open loop R={cfg[0]} S={cfg[1]}", "≥ 1.0× ngircd",
            fmtRatio(r) + (f" ({fmt(n['open'])} vs {fmt(g['open'])})" if n and g else ""),
            None if r != r else r >= 1.0))
        for key in ("p50", "p99"):
            r = ratio(n[key], g[key]) if n and g else float("nan")
            targets.append(Target(
                f"Chat {key} @{PACED_RATE}/s R={cfg[0]} S={cfg[1]}", "≤ 1.0× ngircd",
                fmtRatio(r) + (f" ({fmt(n[key], 2)} ms vs {fmt(g[key], 2)} ms)"
                                if n and g else ""),
                None if r != r else r <= 1.0))
    lost = sum(v["lost"] + v["reordered"] for (k, _c), v in stats.items() if k == "netlab")
    measured = any(k == "netlab" for (k, _c) in stats)
    targets.append(Target("Chat loss and reordering", "0 in every run", f"{lost:.0f}",
                          (lost == 0) if measured else None))
    return targets
