"""
The shared-room scenario's tables and plot series, from its summarised figures.

Every ratio is against the two references measured in the same run: one netlab
daemon with its in-process room (key C{netlab}) and ngircd (key C{ngircd}).
"""

from __future__ import annotations

from benchmarks.results import Table, fmt, fmtRatio, ratio
from benchmarks.scenarios.chat import PACED_RATE

IN_PROCESS = "netlab"
NGIRCD = "ngircd"


def _ref(stats: dict, key: str, cfg: tuple[int, int], figure: str) -> float:
    st = stats.get((key, cfg))
    return st[figure] if st else float("nan")


def maxTable(stats: dict, labels: dict[str, str], cfgs: list[tuple[int, int]]) -> Table:
    """
    Fan-out at maximum rate: deliveries/s, latency and CPU, as ratios too.

    @param stats: (server key, config) -> figures (L{benchmarks.scenarios.shared.summarise}).
    @param labels: server key -> label, in the run's order.
    @param cfgs: the (readers, senders) sizes.
    @return: the table.
    """
    table = Table(
        "Shared room at max rate: deliveries/s, latency, CPU and loss "
        "(median of rounds; loss summed)",
        ["readers", "senders", "server", "deliveries/s", "× in-process", "× ngircd",
         "p50 ms @max", "p99 ms @max", "p99 × in-process", "netlab CPU µs/delivery",
         "Redis CPU µs/delivery", "Redis CPU µs/message", "loadgen CPU µs/delivery",
         "others' CPU % of a core", "lost", "reordered"],
    )
    for cfg in cfgs:
        for key, label in labels.items():
            st = stats.get((key, cfg))
            if not st:
                continue
            table.rows.append([
                str(cfg[0]), str(cfg[1]), label, fmt(st["rate"]),
                fmtRatio(ratio(st["rate"], _ref(stats, IN_PROCESS, cfg, "rate"))),
                fmtRatio(ratio(st["rate"], _ref(stats, NGIRCD, cfg, "rate"))),
                fmt(st["p50max"], 2), fmt(st["p99max"], 2),
                fmtRatio(ratio(st["p99max"], _ref(stats, IN_PROCESS, cfg, "p99max"))),
                fmt(st["cpu"], 2), fmt(st["redis"], 2), fmt(st["redisMsg"], 1),
                fmt(st["gen"], 2), fmt(st["others"]), fmt(st["lost"]), fmt(st["reordered"]),
            ])
    table.notes += [
        "Others' CPU: what every other process and the kernel's own work used during the "
        "window (the machine's busy time from /proc/stat minus the servers', Redis's and "
        "the generator's), in percent of one core: near 0 on a quiet machine. Loopback "
        "traffic's softirq work that is not charged to our processes counts here too.",
    ]
    return table


def pacedTable(stats: dict, labels: dict[str, str], cfgs: list[tuple[int, int]]) -> Table:
    """
    The latency the Redis path adds at a paced rate.

    @param stats: (server key, config) -> figures.
    @param labels: server key -> label, in the run's order.
    @param cfgs: the (readers, senders) sizes.
    @return: the table.
    """
    table = Table(
        f"Shared room at {PACED_RATE} messages/s: the latency Redis adds "
        "(median of rounds; loss summed)",
        ["readers", "senders", "server", "p50 ms", "p99 ms", "p50 added ms", "p99 added ms",
         "p50 × in-process", "p99 × in-process", "p99 × ngircd", "lost", "reordered"],
    )
    for cfg in cfgs:
        p50, p99 = _ref(stats, IN_PROCESS, cfg, "p50"), _ref(stats, IN_PROCESS, cfg, "p99")
        for key, label in labels.items():
            st = stats.get((key, cfg))
            if not st:
                continue
            table.rows.append([
                str(cfg[0]), str(cfg[1]), label, fmt(st["p50"], 2), fmt(st["p99"], 2),
                fmt(st["p50"] - p50, 2), fmt(st["p99"] - p99, 2),
                fmtRatio(ratio(st["p50"], p50)), fmtRatio(ratio(st["p99"], p99)),
                fmtRatio(ratio(st["p99"], _ref(stats, NGIRCD, cfg, "p99"))),
                fmt(st["lostPaced"]), fmt(st["reorderedPaced"]),
            ])
    table.notes += [
        f"{PACED_RATE} messages/s in total over the senders, each to every reader. Added = "
        "this server's figure minus the in-process room's in the same run (the Redis path: "
        "publish script, stream read, one more hop through the reactor).",
    ]
    return table


def daemonTable(stats: dict, labels: dict[str, str], cfgs: list[tuple[int, int]]) -> Table:
    """
    Each daemon of a group: its readers' share of the deliveries, latency, CPU, loss.

    @param stats: (server key, config) -> figures.
    @param labels: server key -> label, in the run's order.
    @param cfgs: the (readers, senders) sizes.
    @return: the table.
    """
    table = Table(
        "Shared room, daemon by daemon (its readers; median of rounds; loss summed over "
        "both phases)",
        ["readers", "senders", "server", "daemon", "its readers", "share of deliveries @max",
         "p99 ms @max", f"p99 ms @{PACED_RATE}/s", "its CPU µs/delivery", "lost",
         "reordered"],
    )
    for cfg in cfgs:
        for key, label in labels.items():
            st = stats.get((key, cfg))
            for i, d in enumerate(st["daemons"] if st else []):
                table.rows.append([
                    str(cfg[0]), str(cfg[1]), label, str(i + 1), str(d["readers"]),
                    f"{100 * d['share']:.1f} %" if d["share"] == d["share"] else "–",
                    fmt(d["p99max"], 2), fmt(d["p99"], 2), fmt(d["cpu"], 2),
                    fmt(d["lost"]), fmt(d["reordered"]),
                ])
    table.notes += [
        "Only groups of two or more daemons are listed. A daemon's CPU per delivery is "
        "its own CPU over the deliveries to its own readers; it includes its share of "
        "reading every entry from Redis and, for daemon 1, the senders' publishing.",
    ]
    return table


def series(stats: dict, labels: dict[str, str], daemons: dict[str, int],
           cfgs: list[tuple[int, int]]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """
    Plot series against the number of daemons; the references are flat lines.

    @param stats: (server key, config) -> figures.
    @param labels: server key -> label.
    @param daemons: key of each group with Redis -> its number of daemons.
    @param cfgs: the (readers, senders) sizes.
    @return: plot name -> series label -> points.
    """
    out: dict[str, dict[str, list[tuple[float, float]]]] = {"shared_rate": {},
                                                           "shared_p99": {}}
    counts = sorted(n for k, n in daemons.items() if k != IN_PROCESS)
    if not counts:
        return {}
    for cfg in cfgs:
        sfx = "" if cfg[1] == 1 else f" (S={cfg[1]})"
        for key, label in labels.items():
            st = stats.get((key, cfg))
            if not st:
                continue
            if key in daemons and key != IN_PROCESS:
                xs = [daemons[key]]
                name = "netlab + Redis"
            else:
                xs = [counts[0], counts[-1]]
                name = label + " (reference)"
            for x in xs:
                out["shared_rate"].setdefault(name + sfx, []).append((x, st["rate"]))
                out["shared_p99"].setdefault(name + sfx, []).append((x, st["p99"]))
    return out
