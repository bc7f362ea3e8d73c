"""
Write the results: one Markdown file (machine, targets, a table per scenario) and a
PNG plot of throughput and p99 latency against concurrency / readers.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.results import ScenarioResult, Table, verdict

#: Each plot: series key, title, x label, y label, log y; then, optionally, log x (default
#: yes; a linear x axis is labelled at the data's x values).
PLOTS = [
    ("daytime_rate", "Day/Time: connections/s", "concurrent connections", "conn/s", False),
    ("daytime_p99", "Day/Time: p99 latency", "concurrent connections", "ms", True),
    ("chat_rate", "Chat: deliveries/s at max rate", "readers", "deliveries/s", False),
    ("chat_p99", "Chat: p99 latency at 50 msg/s", "readers", "ms", True),
    ("shared_rate", "Shared room: deliveries/s at max rate", "netlab daemons on one Redis",
     "deliveries/s", False, False),
    ("shared_p99", "Shared room: p99 latency at 50 msg/s", "netlab daemons on one Redis", "ms",
     True, False),
]


def tableMarkdown(table: Table) -> str:
    """
    One table as Markdown, its notes below it.

    @param table: the table.
    @return: its Markdown.
    """
    lines = [f"### {table.title}", "", "| " + " | ".join(table.headers) + " |",
             "|" + "|".join("---" for _ in table.headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table.rows]
    lines += [""] + [f"- {n}" for n in table.notes]
    return "\n".join(lines) + "\n"


def markdown(results: list[ScenarioResult], machine: dict[str, str], command: str,
             plot: str | None, elapsed: float) -> str:
    """
    The whole report.

    @param results: every scenario's results.
    @param machine: the machine description, from L{benchmarks.system.describe}.
    @param command: the command line that produced the results.
    @param plot: the plot's file name, or L{None} when there is none.
    @param elapsed: the run's wall-clock seconds.
    @return: the Markdown.
    """
    out = ["# netlab benchmark results", "",
           f"Command: `{command}` — wall-clock {elapsed:.0f} s.", "", "## Machine", ""]
    out += [f"- **{k}**: {v}" for k, v in machine.items()]
    out += ["", "## Targets (ratios measured in this run)", "",
            "| target | rule | measured | verdict |", "|---|---|---|---|"]
    for res in results:
        for t in res.targets:
            note = f" ({t.note})" if t.note else ""
            out.append(f"| {t.name} | {t.rule} | {t.value}{note} | {verdict(t.met)} |")
    out.append("")
    if plot:
        out += [f"![throughput and p99]({plot})", ""]
    for res in results:
        out += [f"## {res.title}", ""]
        for table in res.tables:
            out.append(tableMarkdown(table))
        out += [f"- {n}" for n in res.notes]
        out.append("")
    return "\n".join(out)


def plotPng(results: list[ScenarioResult], path: Path) -> str | None:
    """
    Draw a panel for each plot (L{PLOTS}) that has data.

    @param results: every scenario's results; their C{series} are plotted.
    @param path: where to write the PNG.
    @return: L{None}, or a note saying why nothing was drawn (matplotlib missing,
        nothing to plot).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e .[bench]): no plot drawn"
    series = {}
    for res in results:
        series.update(res.series)
    panels = [p for p in PLOTS if series.get(p[0])]
    if not panels:
        return "nothing to plot"
    cols = 2 if len(panels) > 1 else 1
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4.2 * rows), squeeze=False)
    colours: dict[str, str] = {}
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, title, xlabel, ylabel, logy, *logx) in zip(axes.flat, panels, strict=False):
        xs: set[float] = set()
        for label, points in sorted(series[key].items()):
            points = sorted(p for p in points if p[1] == p[1])
            if not points:
                continue
            base = label.split(" (S=")[0]  # one colour per server, dashed for S=10
            colour = colours.setdefault(base, palette[len(colours) % len(palette)])
            xs.update(p[0] for p in points)
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label,
                    color=colour, linestyle="--" if "(S=" in label else "-")
        if logx[:1] != [False]:
            ax.set_xscale("log")
        else:
            ax.set_xticks(sorted(xs))
        if logy:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write(results: list[ScenarioResult], machine: dict[str, str], out: Path, command: str,
          elapsed: float) -> Path:
    """
    Write C{results.md}, C{results.png}, C{machine.json} and C{raw.json} into C{out}.

    @param results: every scenario's results.
    @param machine: the machine description.
    @param out: the output directory, created when missing.
    @param command: the command line that produced the results.
    @param elapsed: the run's wall-clock seconds.
    @return: the path of C{results.md}.
    """
    out.mkdir(parents=True, exist_ok=True)
    png = out / "results.png"
    note = plotPng(results, png)
    if note and results:
        results[-1].notes.append(note)
    md = out / "results.md"
    md.write_text(markdown(results, machine, command, None if note else png.name, elapsed))
    (out / "machine.json").write_text(json.dumps(machine, indent=2) + "\n")
    raw = {r.key: {"targets": [t.__dict__ for t in r.targets], "series": r.series,
                   "tables": [t.__dict__ for t in r.tables], "notes": r.notes}
           for r in results}
    (out / "raw.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    return md
