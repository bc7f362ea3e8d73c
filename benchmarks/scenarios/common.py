"""
Helpers shared by the scenarios: starting a set of servers, running rounds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from benchmarks import loadgen, servers
from benchmarks.results import Context, rotated
from benchmarks.servergroup import GroupSpec, ServerGroup
from benchmarks.servers import RunningServer, ServerSpec

#: A server under test: one process, or a group measured as one (C{restart} is for
#: single processes only).
Running = RunningServer | ServerGroup


def startAll(ctx: Context, specs: Iterable[ServerSpec | GroupSpec],
             notes: list[str]) -> list[Running]:
    """
    Start every server that can run; record why the others could not.

    @param ctx: the run (its logger).
    @param specs: the servers to start; a L{GroupSpec} starts a
        L{benchmarks.servergroup.ServerGroup}, which stands for a server.
    @param notes: gets a line for each server that could not start.
    @return: the servers that started.
    """
    running = []
    for spec in specs:
        try:
            running.append(spec.start() if isinstance(spec, GroupSpec) else servers.start(spec))
        except servers.ServerUnavailableError as e:
            ctx.log(f"  skipped {spec.label}: {e}")
            notes.append(f"{spec.label} skipped: {e}")
    return running


def stopAll(running: Iterable[Running]) -> None:
    """
    Stop every server.
    """
    for srv in running:
        srv.stop()


Samples = dict[tuple[str, object], list[dict]]


def interleave(ctx: Context, running: list[Running], configs: list,
               argv: Callable[[Running, object], list[str]],
               notes: list[str], timeout: float = 120, restart: bool = False,
               afterRun: Callable[[Running, list[dict]], None] | None = None) -> Samples:
    """
    For each round, for each config, run the generator against each server in turn
    (A B C, then B C A, ...).

    C{restart} replaces each server (in C{running}) with a fresh one after its run:
    a listener whose accept queue overflowed keeps retransmitting SYN-ACKs for ~30 s,
    which would add to ListenOverflows during the next server's window; closing the
    listener drops them.

    @param ctx: the run's rounds and logger.
    @param running: the servers, in their order for the first round.
    @param configs: the sizes to measure (concurrencies, (readers, senders) pairs, ...).
    @param argv: returns the generator's command line for a server and a config.
    @param notes: gets a line for each failed run, dead server or failed restart.
    @param timeout: the longest a generator may stay silent, in seconds.
    @param restart: whether to restart each server after each of its runs.
    @param afterRun: called with the server and its run's phase results after
        each run, before the server is restarted (to add what only the server
        knows, such as its log).
    @return: (server key, config) -> list of phase results (see L{benchmarks.loadgen.run}).
    """
    samples: Samples = defaultdict(list)
    for rnd in range(ctx.rounds):
        for cfg in configs:
            for srv in rotated(running, rnd):
                if not srv.alive():
                    continue
                try:
                    phases = loadgen.run(argv(srv, cfg), srv, timeout=timeout)
                except loadgen.GeneratorError as e:
                    msg = f"{srv.spec.label} {cfg}: {e}"
                    ctx.log(f"  ERROR {msg}")
                    notes.append(f"run failed: {msg}")
                    phases = []
                for ph in phases:
                    samples[(srv.spec.key, cfg)].append(ph)
                srv.quiesce()
                if afterRun is not None and phases:
                    afterRun(srv, phases)
                if not srv.alive():
                    notes.append(f"{srv.spec.label} died during {cfg}: {srv.tail()}")
                if restart:
                    srv.stop()
                    try:
                        running[running.index(srv)] = servers.start(srv.spec)
                    except servers.ServerUnavailableError as e:
                        notes.append(f"{srv.spec.label} could not restart: {e}")
        ctx.log(f"  round {rnd + 1}/{ctx.rounds} done")
    return samples
