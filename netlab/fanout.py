"""
Sending one chat line to a thousand sockets on more than one core.

A room's line costs one C{send()} per member, and on loopback or a LAN almost
all of that is the kernel's work (~10 µs each here): for a room of a thousand
the last member gets the line ~10 ms after the first, however little Python
runs in between.  L{ParallelSend} shares those calls among worker threads: the
reactor's thread sends to its part of the sockets while each worker sends to
its own, and waits for them before it goes on, so nothing else touches a
socket meanwhile and every member's bytes stay in order.  C{socket.send}
releases the GIL for the system call, so the calls run at once; only the few
Python steps between them take turns.

Only the system calls move: the caller (the room) picks the sockets that may
be written to directly (L{netlab.writethrough.directSocket}) and, back on the
reactor's thread, hands whatever a socket did not take to its transport.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Sequence
from queue import SimpleQueue

from twisted.application.service import Service
from twisted.logger import Logger

#: Fewer sockets than this are sent to by the reactor's thread alone: waking a
#: worker costs about as much as a few dozen sends.
PARALLEL_FROM = 64

#: The most threads (the reactor's included) that share one line's sends.
MOST_THREADS = 4

_log = Logger()

_Done = SimpleQueue  # (of BaseException | None: each part's outcome)
_Job = tuple[Sequence[socket.socket], Sequence[bytes], list[int], int, int, _Done]


def sendRange(
    socks: Sequence[socket.socket], datas: Sequence[bytes], sent: list[int], start: int, stop: int
) -> None:
    """
    Send C{datas[i]} on C{socks[i]} for C{start <= i < stop}, once each, and
    record in C{sent[i]} how many bytes the socket took (0 if it raised: full,
    or an error its transport will meet and report itself).
    """
    for i in range(start, stop):
        try:
            sent[i] = socks[i].send(datas[i])
        except OSError:
            sent[i] = 0


def usableCores() -> int:
    """
    How many CPUs this process may run on.
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ParallelSend(Service):
    """
    Send to many sockets at once on C{threads - 1} worker threads, while
    the caller's thread does its own share of the work (see C{share}).  The
    workers start on the first send, and stop with the service (L{stop}).

    @ivar threads: how many threads share the sending, the caller's included
        (1: the caller's alone; nothing is started).
    """

    def __init__(self, threads: int = 0) -> None:
        """
        @param threads: how many threads share the sending; 0 for one per
            CPU this process may use, at most L{MOST_THREADS}.
        """
        if not threads:
            threads = min(usableCores(), MOST_THREADS)
        self.threads = max(1, threads)
        self._jobs: list[SimpleQueue[_Job | None]] = []
        self._workers: list[threading.Thread] = []

    def share(self, count: int) -> int:
        """
        How many of C{count} sends the caller's thread should make itself
        (all of them below L{PARALLEL_FROM}, or with no workers).
        """
        if self.threads == 1 or count < PARALLEL_FROM:
            return count
        return count // self.threads

    def begin(
        self, socks: Sequence[socket.socket], datas: Sequence[bytes]
    ) -> Callable[[], list[int]]:
        """
        Start sending C{datas[i]} on C{socks[i]} for every C{i} (each socket
        once) on the workers, and return the call that waits until every
        send is done and gives how many bytes each socket took.  Until then
        the caller must not touch these sockets.
        """
        count = len(socks)
        sent = [0] * count
        parts = min(self.threads - 1, -(-count // PARALLEL_FROM))
        if parts < 1:
            sendRange(socks, datas, sent, 0, count)
            return lambda: sent
        self._start()
        step = -(-count // parts)
        done: _Done = SimpleQueue()  # (this send's alone: a send begun meanwhile has its own)
        for part in range(parts):
            start, stop = part * step, min(count, (part + 1) * step)
            self._jobs[part].put((socks, datas, sent, start, stop, done))

        def finish() -> list[int]:
            failure = None
            for _ in range(parts):
                failure = done.get() or failure
            if failure is not None:
                raise failure
            return sent

        return finish

    def _start(self) -> None:
        if self._workers:
            return
        for number in range(1, self.threads):
            jobs: SimpleQueue[_Job | None] = SimpleQueue()
            worker = threading.Thread(
                target=self._work, args=(jobs,), name=f"netlab-send-{number}", daemon=True
            )
            self._jobs.append(jobs)
            self._workers.append(worker)
            worker.start()

    def _work(self, jobs: SimpleQueue[_Job | None]) -> None:
        while (job := jobs.get()) is not None:
            *part, done = job
            try:
                sendRange(*part)
            except BaseException as e:  # reported to the caller, which waits for it
                done.put(e)
            else:
                done.put(None)

    def startService(self) -> None:
        super().startService()
        if self.threads > 1:
            _log.info(
                "chat: a room of {least} or more is sent to on {threads} threads",
                least=PARALLEL_FROM,
                threads=self.threads,
            )

    def stopService(self) -> None:
        super().stopService()
        self.stop()

    def stop(self) -> None:
        """
        Stop the workers (they are started again by the next send).
        """
        workers, self._workers = self._workers, []
        for jobs in self._jobs:
            jobs.put(None)
        self._jobs = []
        for worker in workers:
            worker.join()
