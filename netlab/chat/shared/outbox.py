"""
What a daemon has to append to its room's log, in order (L{Outbox}).

An op waits here until the log has answered it.  Ops are numbered when first
sent, in the order they go out; one sent again (the link died before its
answer) keeps its number, so that readers can skip the repeat, and goes out
again before anything newer -- the numbers a reader sees from one daemon only
ever grow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from netlab.chat.shared.interfaces import Op


class Outbox:
    """
    Ops waiting for the log, and those sent but not yet answered.

    @ivar hold: how many members' lines (held ops) may wait to be sent at
        once -- while the link is down, or Redis has not answered lines sent
        before a link was lost.  Lines sent and not yet answered on a
        working link do not count: Redis answers or the link is dropped
        (L{netlab.chat.shared.connection.REPLY_TIMEOUT}).
    """

    def __init__(self, daemon: str, hold: int) -> None:
        self.daemon = daemon
        self.hold = hold
        self._resend: deque[Op] = deque()  # sent once, lost with a link
        self._urgent: deque[Op] = deque()
        self._waiting: deque[Op] = deque()
        self._inflight: deque[Op] = deque()
        self._held = 0
        self._seq = 0

    def __len__(self) -> int:
        """
        How many ops are not answered yet (sent or not).
        """
        queues = (self._resend, self._urgent, self._waiting, self._inflight)
        return sum(len(queue) for queue in queues)

    def waiting(self) -> int:
        """
        How many members' lines wait to be sent (see C{hold}).
        """
        return self._held

    def add(self, op: Op, first: bool = False) -> bool:
        """
        Queue C{op}, after the others or (C{first}) before those not sent yet.

        @return: whether it was taken (a held op is not, past C{hold}).
        """
        if op.held:
            if self._held >= self.hold:
                return False
            self._held += 1
        (self._urgent if first else self._waiting).append(op)
        return True

    def cancel(self, op: Op) -> bool:
        """
        Forget C{op}, unless it was sent already.
        """
        if op.seq or op.cancelled:
            return False
        op.cancelled = True  # skipped when its turn comes
        self._held -= op.held
        return True

    def inFlight(self) -> int:
        """
        How many ops were sent and not answered yet.
        """
        return len(self._inflight)

    def toSend(self, limit: int = 1 << 62) -> Iterator[Op]:
        """
        The ops to send now, in order, at most C{limit}, each numbered and
        counted as sent when it is yielded.  If sending one fails, L{unsend}
        it and stop.
        """
        for queue in (self._resend, self._urgent, self._waiting):
            while queue and limit > 0:
                op = queue.popleft()
                if op.cancelled:
                    continue
                if not op.seq:
                    self._seq += 1
                    op.seq = self._seq
                    op.fields["d"], op.fields["n"] = self.daemon, str(op.seq)
                self._inflight.append(op)
                self._held -= op.held
                limit -= 1
                yield op

    def unsend(self, op: Op) -> None:
        """
        C{op}, just yielded by L{toSend}, could not be sent after all.
        """
        self._inflight.remove(op)
        self._resend.appendleft(op)  # (it was the first of those not sent)
        self._held += op.held

    def answered(self) -> Op | None:
        """
        The log answered the oldest op sent: forget it and return it.
        """
        if not self._inflight:
            return None
        return self._inflight.popleft()

    def linkLost(self) -> None:
        """
        The link died: what was sent and not answered goes again, first, in
        the order it first went.
        """
        self._held += sum(op.held for op in self._inflight)
        self._resend = self._inflight + self._resend
        self._inflight = deque()
