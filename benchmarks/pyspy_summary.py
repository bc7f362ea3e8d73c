"""
Summarise a py-spy raw (collapsed stack) profile: the functions with the most samples.

usage: python -m benchmarks.pyspy_summary PROFILE.raw [TOP]
Record one with: py-spy record -r 500 -d 6 -f raw -o PROFILE.raw -p SERVER_PID
Prints, per function, its share of samples on-CPU in the function itself (self) and
anywhere below it on the stack (total).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def summarise(path: Path, top: int = 25) -> str:
    """
    The table as text.

    @param path: a py-spy C{raw} profile.
    @param top: how many functions each half of the table lists.
    @return: the table.
    """
    selfCounts: Counter[str] = Counter()
    totalCounts: Counter[str] = Counter()
    n = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        c = int(count)
        n += c
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
                  + ")" if " (" in f else f for f in stack.split(";")]
        selfCounts[frames[-1]] += c
        for f in set(frames):
            totalCounts[f] += c
    rows = [f"{n} samples", f"{'self %':>7} {'total %':>7}  function"]
    for name, _ in totalCounts.most_common(top):
        rows.append(f"{100 * selfCounts[name] / n:7.1f} {100 * totalCounts[name] / n:7.1f}  {name}")
    rows.append("-- by self time --")
    for name, c in selfCounts.most_common(top):
        rows.append(f"{100 * c / n:7.1f} {100 * totalCounts[name] / n:7.1f}  {name}")
    return "\n".join(rows)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
