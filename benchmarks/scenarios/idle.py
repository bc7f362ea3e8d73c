"""
Scenario 3: idle capacity, server memory per idle connected chat client.
"""

from __future__ import annotations

import time

from benchmarks import loadgen, ngircd, servers
from benchmarks.loadgen import GeneratorError, LineProcess
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
from benchmarks.servers import RunningServer, ServerSpec

SIZES = [1000, 10000]
SOURCES = 16
SPECS = [servers.NETLAB_CHAT, servers.NETLAB_CHAT_DASHBOARD, servers.NETLAB_CHAT_TRACED,
         servers.TWISTED_CHAT, ngircd.SPEC]
TARGET_KIB = 1.6  # issue 16: stays at or below 1.6 KiB at 10,000 clients


def hold(ctx: Context, srv: RunningServer, n: int) -> dict:
    """
    Connect C{n} idle clients, wait for the server to settle, measure RSS, release.

    @param ctx: the run's generators.
    @param srv: the server, freshly started.
    @param n: how many clients.
    @return: one measurement (the figures the report reads, by name).
    @raise GeneratorError: if the generator fails before all clients are held.
    """
    srv.quiesce()
    rss0 = srv.rssKiB()
    cpu0 = srv.cpuMicroseconds()
    argv = [str(ctx.bins["idle_hold"]), srv.spec.protocol, str(srv.port), str(n),
            str(SOURCES), "1" if srv.spec.greets else "0"]
    child = LineProcess(argv, stdin=loadgen.subprocess.PIPE)
    try:
        line = child.readline(180) or ""
        if not line.startswith("READY"):
            raise GeneratorError(line or "idle_hold ended early")
        _, joined, setupSeconds, lost = line.split()
        settle = srv.quiesce(limit=120)
        time.sleep(0.2)
        rss1 = srv.rssKiB()
        cpu1 = srv.cpuMicroseconds()
        assert child.proc.stdin is not None
        child.proc.stdin.close()
        result: dict = {}
        while (line := child.readline(60)) is not None:
            if line.startswith("RESULT "):
                result = loadgen.json.loads(line[7:])
        child.wait()
    except BaseException:
        child.kill()
        raise
    held = int(result.get("held", joined))
    return {
        "clients": n, "held": held, "lost": int(lost), "setup_s": float(setupSeconds),
        "settle_s": settle, "rss0_kb": rss0, "rss1_kb": rss1,
        "kib_per_client": (rss1 - rss0) / held if held else float("nan"),
        "server_cpu_us": cpu1 - cpu0, "gen_cpu_us": result.get("gen_cpu_us", 0),
    }


def run(ctx: Context) -> ScenarioResult:
    """
    Measure memory per idle client.

    Each round starts each server fresh, holds N clients, measures the RSS delta.

    @param ctx: the run's size, generators and logger.
    @return: tables and targets.
    """
    res = ScenarioResult("idle", "Idle capacity: memory per idle chat client")
    sizes = SIZES[:1] if ctx.quick else SIZES
    rounds = 1 if ctx.quick else max(1, min(ctx.rounds, 2))
    samples: dict[tuple[str, int], list[dict]] = {}
    labels: dict[str, str] = {}
    specs: list[ServerSpec] = list(SPECS)
    for rnd in range(rounds):
        for n in sizes:
            for spec in rotated(specs, rnd):
                try:
                    srv = servers.start(spec)
                except servers.ServerUnavailableError as e:
                    if rnd == 0 and n == sizes[0]:
                        res.notes.append(f"{spec.label} skipped: {e}")
                        ctx.log(f"  skipped {spec.label}: {e}")
                    continue
                labels[spec.key] = spec.label
                try:
                    samples.setdefault((spec.key, n), []).append(hold(ctx, srv, n))
                except GeneratorError as e:
                    res.notes.append(f"{spec.label} with {n} clients failed: {e}")
                    ctx.log(f"  ERROR {spec.label} {n}: {e}")
                finally:
                    srv.stop()
        ctx.log(f"  round {rnd + 1}/{rounds} done")

    table = Table(
        "Idle: server memory per idle connected client (RSS delta / clients, median of rounds)",
        ["clients", "server", "held", "RSS before MiB", "RSS after MiB", "KiB per client",
         "connect+join s", "server CPU s (join + settle)", "loadgen CPU s"],
    )
    per: dict[tuple[str, int], float] = {}
    for n in sizes:
        for key, label in labels.items():
            runs = samples.get((key, n), [])
            if not runs:
                continue
            per[(key, n)] = kib = median(r["kib_per_client"] for r in runs)
            table.rows.append([
                fmt(n), label, fmt(min(r["held"] for r in runs)),
                fmt(median(r["rss0_kb"] for r in runs) / 1024, 1),
                fmt(median(r["rss1_kb"] for r in runs) / 1024, 1), fmt(kib, 2),
                fmt(median(r["setup_s"] for r in runs), 2),
                fmt(median(r["server_cpu_us"] for r in runs) / 1e6, 2),
                fmt(median(r["gen_cpu_us"] for r in runs) / 1e6, 2),
            ])
    table.notes += [
        "Each measurement uses a freshly started server: RSS is read once the server has "
        "settled before connecting and again after every client joined and the server's CPU "
        "went quiet (so join announcements have been delivered).",
        "netlab and the minimal Twisted room count a client once connected (netlab: after "
        "its welcome); ngircd's clients register (NICK/USER, answered by 001) but join no "
        "channel, so its figure is per connected user, not per channel member.",
    ]
    res.tables.append(table)
    n = max(sizes)
    kib = per.get(("netlab", n), float("nan"))
    targets = [Target(f"Idle memory at {n:,} clients", f"≤ {TARGET_KIB} KiB per client",
                      f"{fmt(kib, 2)} KiB",
                      None if kib != kib or n != 10000 else kib <= TARGET_KIB)]
    for base in ("ngircd", "twisted"):
        if (base, n) in per and kib == kib:
            r = ratio(kib, per[(base, n)])
            targets.append(Target(f"Idle memory vs {labels[base]} at {n:,}", "(for reference)",
                                  f"{fmtRatio(r)} ({fmt(per[(base, n)], 2)} KiB)", None))
    for key, what in (("netlab-dashboard", "the dashboard's counts"),
                      ("netlab-trace", "counts and 4 KiB traces")):
        cost = per.get((key, n), float("nan"))
        if cost == cost and kib == kib:
            targets.append(Target(f"Idle memory with {labels[key]} at {n:,}", f"(cost of {what})",
                                  f"{fmt(cost, 2)} KiB (+{fmt(cost - kib, 2)} KiB)", None))
    if n != 10000:
        targets[0].note = "smoke size; the target is defined at 10,000"
    res.targets.extend(targets)
    return res
