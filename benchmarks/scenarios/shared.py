"""
Scenario 5: one chat room shared by 1, 2 and 4 netlab daemons through Redis
(C{--chat-redis}), beside one daemon's in-process room and ngircd.

The generator spreads R readers and S senders evenly over the daemons' ports; every
line goes sender -> its daemon -> Redis -> every daemon -> that daemon's readers.
"""

from __future__ import annotations

import os
import re
from collections import Counter

from benchmarks import ngircd, redisserver
from benchmarks.results import Context, ScenarioResult, Target, fmt, median
from benchmarks.scenarios import sharedreport
from benchmarks.scenarios.chat import PACED_RATE, SOURCES, WINDOW
from benchmarks.scenarios.common import interleave, startAll, stopAll
from benchmarks.servergroup import GroupSpec, ServerGroup

READERS = 1000
SENDERS = [1, 10]
DAEMONS = [1, 2, 4]
QUICK_READERS = 100
QUICK_DAEMONS = [1, 2]

#: A twistd log line's timestamp, left out when lines are compared.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\S+ ")

#: The reference rows: one daemon with the in-process room (no Redis), and ngircd.
IN_PROCESS = GroupSpec("netlab", "netlab, in-process room")


def sharedKey(daemons: int) -> str:
    """
    The results key of C{daemons} netlab daemons on one Redis.
    """
    return f"shared{daemons}"


def specs(quick: bool) -> list:
    """
    The servers to measure, in their order for the first round.

    @param quick: whether this is the smoke run (1 and 2 daemons only).
    @return: L{GroupSpec}s and ngircd's L{benchmarks.servers.ServerSpec}.
    """
    shared = [GroupSpec(sharedKey(n), f"netlab ×{n} + Redis", daemons=n, redis=True)
              for n in (QUICK_DAEMONS if quick else DAEMONS)]
    return [IN_PROCESS, ngircd.SPEC, *shared]


def configs(quick: bool) -> list[tuple[int, int]]:
    """
    The sizes to measure.

    @param quick: whether this is the smoke run (R = 100).
    @return: (readers, senders) pairs.
    """
    return [(QUICK_READERS if quick else READERS, s) for s in SENDERS]


def generatorArgv(ctx: Context, phases: str):
    """
    The chat generator's command line for a server (or group of daemons) and a size.

    @param ctx: the run (the generator's path).
    @param phases: the generator's PHASES argument.
    @return: C{argv(server, (readers, senders))}.
    """
    def argv(srv, cfg: tuple[int, int]) -> list[str]:
        ports = ",".join(str(p) for p in getattr(srv, "ports", [srv.port]))
        return [str(ctx.bins["chat_fanout"]), srv.spec.protocol, ports, str(cfg[0]),
                str(cfg[1]), str(SOURCES), "1" if srv.spec.greets else "0", str(WINDOW), phases]

    return argv


def othersShare(result: dict) -> float:
    """
    How busy the rest of the machine was during one measured window.

    @param result: a phase's result from L{benchmarks.loadgen.run}.
    @return: the CPU of every process but the servers, Redis and the generator, in
        percent of one core (NaN when the machine's CPU was not sampled).
    """
    if "machine_cpu_us" not in result or result["seconds"] <= 0:
        return float("nan")
    ours = result["server_cpu_us"] + result["gen_cpu_us"]
    ours += result.get("cpu_parts_us", {}).get("redis", 0)
    return max(result["machine_cpu_us"] - ours, 0) / (result["seconds"] * 1e4)


def summarise(runs: list[dict]) -> dict:
    """
    One server's figures at one size, over the rounds.

    @param runs: the generator's phase results (paced and max, every round).
    @return: medians of the rounds; loss and reordering summed, per phase and per daemon.
    """
    paced = [r for r in runs if r["phase"] == "paced"]
    peak = [r for r in runs if r["phase"] == "max"]

    def perDelivery(r: dict, part: str | None) -> float:
        used = r["server_cpu_us"] if part is None else r.get("cpu_parts_us", {}).get(part)
        return float("nan") if used is None else used / max(r["delivered"], 1)

    st = {
        "p50": median(r["p50_us"] for r in paced) / 1e3,
        "p99": median(r["p99_us"] for r in paced) / 1e3,
        "rate": median(r["rate"] for r in peak),
        "p50max": median(r["p50_us"] for r in peak) / 1e3,
        "p99max": median(r["p99_us"] for r in peak) / 1e3,
        "cpu": median(perDelivery(r, None) for r in peak),
        "redis": median(perDelivery(r, "redis") for r in peak),
        "redisMsg": median(r.get("cpu_parts_us", {}).get("redis", float("nan"))
                           / max(r["sent"], 1) for r in peak),
        "gen": median(r["gen_cpu_us"] / max(r["delivered"], 1) for r in peak),
        "others": median(othersShare(r) for r in peak),
        "lostPaced": sum(r["lost"] for r in paced),
        "reorderedPaced": sum(r["reordered"] + r["dups"] for r in paced),
        "lost": sum(r["lost"] for r in peak),
        "reordered": sum(r["reordered"] + r["dups"] for r in peak),
        "runs": len(peak),
        "daemons": [],
    }
    for i in range(max((len(r.get("ports", [])) for r in runs), default=0)):
        mine = [(r, r["ports"][i]) for r in runs if len(r.get("ports", [])) > i]
        peakMine = [(r, p) for r, p in mine if r["phase"] == "max"]
        st["daemons"].append({
            "readers": mine[0][1]["readers"],
            "share": median(p["delivered"] / max(r["delivered"], 1) for r, p in peakMine),
            "p99max": median(p["p99_us"] for _, p in peakMine) / 1e3,
            "p99": median(p["p99_us"] for r, p in mine if r["phase"] == "paced") / 1e3,
            "cpu": median(r.get("cpu_parts_us", {}).get(f"netlab{i + 1}", float("nan"))
                          / max(p["delivered"], 1) for r, p in peakMine),
            "lost": sum(p["lost"] for _, p in mine),
            "reordered": sum(p["reordered"] for _, p in mine),
        })
    return st


def run(ctx: Context) -> ScenarioResult:
    """
    Measure the shared room at 1, 2 and 4 daemons beside the in-process room and ngircd.

    @param ctx: the run's size, generators and logger.
    @return: tables, targets and plot series.
    """
    res = ScenarioResult("shared", "Shared room: netlab daemons on one Redis")
    if ctx.ngircdNote.startswith("not installed"):
        res.notes.append(f"ngircd {ctx.ngircdNote}")
    if ctx.redisNote.startswith("not installed"):
        res.notes.append(f"redis-server {ctx.redisNote}")
    running = startAll(ctx, specs(ctx.quick), res.notes)
    cfgs = configs(ctx.quick)
    phases = f"paced:{PACED_RATE}:{ctx.seconds},max:0:{ctx.seconds}"
    try:
        samples = interleave(ctx, running, cfgs, generatorArgv(ctx, phases), res.notes,
                             timeout=180)
    finally:
        stopAll(running)
    labels = {s.spec.key: s.spec.label for s in running}
    stats = {(key, cfg): summarise(samples[(key, cfg)])
             for cfg in cfgs for key in labels if samples.get((key, cfg))}
    daemons = {s.spec.key: s.spec.daemons for s in running if isinstance(s, ServerGroup)}
    res.tables += [sharedreport.maxTable(stats, labels, cfgs),
                   sharedreport.pacedTable(stats, labels, cfgs),
                   sharedreport.daemonTable(stats, labels, cfgs)]
    res.series.update(sharedreport.series(stats, labels, daemons, cfgs))
    res.tables[0].notes += [
        f"All processes share this machine's {os.cpu_count()} cores: the N netlab daemons, "
        "their Redis and the load generator. With 4 daemons they compete for the same "
        "cores, so the figures say what N daemons give on one small machine, not what N "
        "machines would.",
        "Every line goes from its sender to the sender's daemon, into Redis (one EVALSHA "
        "of the publish script, an XADD to the room's stream), back out to every daemon "
        "(XREAD BLOCK), the sender's own included, and on to that daemon's readers. The "
        "in-process room hands it to its readers directly.",
        "Reader r connects to daemon r mod N and sender s to daemon s mod N, so readers "
        "and senders are spread evenly (with S = 1 the sender is on daemon 1).",
        "Each group of daemons has a Redis of its own (redis-server --save '' --appendonly "
        f"no, loopback only; {ctx.redisNote}); room name 'bench'. The daemons read Redis's "
        f"replies with {redisserver.replyParser()}. netlab CPU is all its daemons' "
        "together; Redis CPU is read from /proc/PID/stat like the servers'.",
        f"Max rate: each sender keeps at most {WINDOW} messages not yet received by every "
        "reader, on every daemon (closed loop). netlab runs with --chat-rate 0 "
        "--chat-sendq 64M, its default history and --chat-redis-hold (1000).",
        "Lost = deliveries still missing 3 s after sending stopped; reordered = a sequence "
        "number lower than one already received from the same sender, or a duplicate; "
        "both counted per reader, whichever daemon it is on.",
    ]
    res.notes += logProblems(running)
    res.targets.append(lossTarget(stats, labels))
    return res


def logProblems(running: list) -> list[str]:
    """
    What the netlab daemons' logs said beyond info, and how they exited.

    @param running: the servers, stopped.
    @return: one line per group: its distinct log lines of note (timestamps left out),
        each with how many daemons logged it, during the runs and at shutdown apart.
    """
    notes = []
    for srv in running:
        if not isinstance(srv, ServerGroup):
            continue
        if not srv.problems:
            notes.append(f"{srv.spec.label}: no warnings or errors in the daemons' logs; "
                         "each exited with status 0 on SIGTERM.")
            continue
        seen: Counter[str] = Counter()
        for problem in srv.problems:
            who, _, line = problem.partition(": ")
            when = "at shutdown" if "(at shutdown)" in who else "during the runs"
            seen[f"{when}: {TIMESTAMP.sub('', line)}"] += 1
        quoted = "; ".join(f"{text} (×{n})" for text, n in seen.most_common(5))
        notes.append(f"{srv.spec.label}: {len(srv.problems)} log lines or exits of note "
                     f"({len(seen)} distinct): {quoted}")
    return notes


def lossTarget(stats: dict, labels: dict[str, str]) -> Target:
    """
    Loss and reordering in the shared room, over every run and daemon.

    @param stats: (server key, config) -> L{summarise}'s figures.
    @param labels: server key -> label.
    @return: the target.
    """
    shared = [v for (k, _c), v in stats.items() if k.startswith("shared")]
    if not shared:
        return Target("Shared room loss and reordering", "0 in every run",
                      "shared room not measured", None)
    bad = sum(v["lost"] + v["reordered"] + v["lostPaced"] + v["reorderedPaced"]
              for v in shared)
    runs = sum(v["runs"] for v in shared)
    return Target("Shared room loss and reordering (all daemons)", "0 in every run",
                  f"{fmt(bad)} in {runs} runs", bad == 0)

