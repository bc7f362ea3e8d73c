"""
Where a daemon is in its room's stream (L{StreamPosition}): the last entry
delivered, and the last sequence number seen from each daemon, so that an
entry sent twice (its sender's link died before the answer) is delivered once.
"""

from __future__ import annotations

from netlab.chat.shared.streamid import newer, parseEntries

#: What L{StreamPosition.resume} finds.
INTACT, TRIMMED, NEW = "intact", "trimmed", "new"


class StreamPosition:
    """
    How far this daemon has read, and what it has seen.

    @ivar lastId: the ID of the last entry read, or L{None} before the first
        connection (reading then starts from the newest entries).
    """

    def __init__(self) -> None:
        self.lastId: str | None = None
        self._seen: dict[str, int] = {}

    def start(self, newestFirst: list) -> list[dict[str, str]]:
        """
        The first connection: C{newestFirst} is C{XREVRANGE}'s reply (the
        newest entries); reading goes on after them.

        @return: those entries, oldest first (the newcomers' history).
        """
        entries = list(reversed(parseEntries(newestFirst)))
        self.lastId = entries[-1][0] if entries else "0-0"
        return [fields for _, fields in entries if self.isNew(fields)]

    def resume(self, stream: dict[str, str]) -> str:
        """
        Reconnected: C{stream} is what C{XINFO STREAM} says (empty if there is
        no stream).  A stream that ends before where we were is a new one
        (Redis restarted empty): read it from its start -- repeats are
        skipped.

        @return: L{INTACT} (everything since our position is still there),
            L{TRIMMED} (entries we had not read were trimmed away) or L{NEW}.
        """
        assert self.lastId is not None
        if newer(self.lastId, stream.get("last-generated-id", "0-0")):
            return self.restart()
        if newer(stream.get("max-deleted-entry-id", "0-0"), self.lastId):
            return TRIMMED
        return INTACT

    def restart(self) -> str:
        """
        The stream is a new one (Redis restarted without it; a stream that
        has moved past our position since cannot tell by itself): read it
        from its start.

        @return: L{NEW}.
        """
        self.lastId = "0-0"
        return NEW

    def take(self, reply: list | None) -> list[dict[str, str]]:
        """
        C{XREAD}'s entries (for one stream), past the position now, without
        repeats.
        """
        fresh = []
        for entryId, fields in parseEntries(reply):
            self.lastId = entryId
            if self.isNew(fields):
                fresh.append(fields)
        return fresh

    def isNew(self, fields: dict[str, str]) -> bool:
        """
        Whether an entry is seen for the first time.  Entries without a
        sequence number (a lost daemon's leaves) always are.
        """
        number = fields.get("n")
        if number is None or not number.isdigit():  # (not one of ours: Redis is shared)
            return True
        origin, seq = fields.get("d", ""), int(number)
        if seq <= self._seen.get(origin, 0):
            return False
        self._seen[origin] = seq
        return True
