"""
A connection's recent bytes, each way, with when they passed: the wire trace
the teacher's dashboard shows (C{--trace SIZE}).

The question of every lab session is "why does my client hang?" -- and the
answer is on the wire: no newline, a second C{recv} that waits for nothing, a
C{\\r} too many.  L{WireTrace} keeps the last C{size} bytes sent and received
by one connection, in memory and bounded, and L{escape} shows them so that
every byte is visible: C{\\r}, C{\\n}, C{\\x00}, C{[IAC DO TIMING-MARK]}.

C{policies.TrafficLoggingFactory} shows the idea, but writes a file per
connection without bound; this keeps a fixed amount per connection and
nothing on disk.
"""

from __future__ import annotations

from array import array

#: How many separate chunks one direction keeps at most, whatever their size.
#: A telnet client in character mode sends a byte per key; without this cap a
#: trace of 4 KiB would keep 4,096 timestamps.  Past it, the two oldest chunks
#: become one (keeping the older time): old data gets coarser, never lost early.
MAX_CHUNKS = 256

#: Telnet command bytes (RFC 854) by value, as L{escape} names them after IAC.
TELNET_COMMANDS = {
    240: "SE", 241: "NOP", 242: "DM", 243: "BRK", 244: "IP", 245: "AO", 246: "AYT",
    247: "EC", 248: "EL", 249: "GA", 250: "SB", 251: "WILL", 252: "WONT", 253: "DO",
    254: "DONT", 255: "IAC",
}

#: Telnet options by value, as L{escape} names them after WILL, WONT, DO, DONT, SB.
TELNET_OPTIONS = {
    0: "BINARY", 1: "ECHO", 3: "SGA", 5: "STATUS", 6: "TIMING-MARK", 24: "TTYPE",
    31: "NAWS", 32: "TSPEED", 33: "LFLOW", 34: "LINEMODE", 35: "XDISPLOC",
    36: "ENVIRON", 39: "NEW-ENVIRON",
}

_NEGOTIATION = (250, 251, 252, 253, 254)

_NAMED = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x5C: "\\\\"}


def _telnet(data: bytes, at: int) -> tuple[str, int]:
    """
    The telnet command at C{data[at]} (an IAC byte), named, and where the
    data after it starts.
    """
    if at + 1 >= len(data):
        return "[IAC]", at + 1
    command = data[at + 1]
    if command == 255:  # IAC IAC: a literal 0xFF
        return "\\xff", at + 2
    name = TELNET_COMMANDS.get(command, str(command))
    if command in _NEGOTIATION and at + 2 < len(data):
        option = data[at + 2]
        return f"[IAC {name} {TELNET_OPTIONS.get(option, str(option))}]", at + 3
    return f"[IAC {name}]", at + 2


def escape(data: bytes) -> str:
    """
    C{data} as text in which every byte shows: printable ASCII and valid
    UTF-8 as themselves, C{\\n}, C{\\r}, C{\\t} and C{\\\\} escaped, other control
    and invalid bytes as C{\\xNN}, telnet commands named in brackets
    (C{[IAC IP]}, C{[IAC DO TIMING-MARK]}).
    """
    out: list[str] = []
    at, end = 0, len(data)
    while at < end:
        byte = data[at]
        if 0x20 <= byte < 0x7F and byte != 0x5C:
            stop = at + 1
            while stop < end and 0x20 <= data[stop] < 0x7F and data[stop] != 0x5C:
                stop += 1
            out.append(data[at:stop].decode("ascii"))
            at = stop
        elif byte in _NAMED:
            out.append(_NAMED[byte])
            at += 1
        elif byte == 0xFF:
            text, at = _telnet(data, at)
            out.append(text)
        elif byte >= 0x80:
            text, at = _utf8(data, at)
            out.append(text)
        else:
            out.append(f"\\x{byte:02x}")
            at += 1
    return "".join(out)


def _utf8(data: bytes, at: int) -> tuple[str, int]:
    """
    The UTF-8 character at C{data[at]}, or C{\\xNN} for a byte that does
    not start one.
    """
    for size in (2, 3, 4):
        try:
            character = data[at : at + size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if character.isprintable():
            return character, at + size
        return "".join(f"\\u{ord(c):04x}" for c in character), at + size
    return f"\\x{data[at]:02x}", at + 1


class TraceRing:
    """
    The last C{size} bytes of one direction, with the time each chunk passed.

    Chunks are kept in one C{bytearray}, with their start offsets (counted
    from the connection's first byte) and times beside it in arrays: a few
    bytes per chunk, not an object each.
    """

    __slots__ = ("size", "_data", "_base", "_starts", "_times")

    def __init__(self, size: int) -> None:
        self.size = size
        self._data = bytearray()
        self._base = 0  # the offset of _data[0]
        self._starts = array("Q")
        self._times = array("d")

    def add(self, when: float, data: bytes) -> None:
        """
        Keep C{data}, which passed at C{when}; forget what falls out of
        the last C{size} bytes.
        """
        if not data:
            return
        end = self._base + len(self._data)
        if len(data) > self.size:
            end += len(data) - self.size
            self._base += len(data) - self.size
            data = data[-self.size :]
        self._starts.append(end)
        self._times.append(when)
        self._data += data
        excess = len(self._data) - self.size
        if excess > 0:
            del self._data[:excess]
            self._base += excess
        starts, first = self._starts, 0
        while first + 1 < len(starts) and starts[first + 1] <= self._base:
            first += 1
        if first:
            del starts[:first]
            del self._times[:first]
        if len(starts) > MAX_CHUNKS:
            del starts[1]
            del self._times[1]

    def chunks(self) -> list[tuple[float, bytes]]:
        """
        The kept chunks, oldest first, as (time, bytes).
        """
        if not self._starts:
            return []
        base = self._base
        ends = [*self._starts[1:], base + len(self._data)]
        return [
            (when, bytes(self._data[max(start - base, 0) : end - base]))
            for when, start, end in zip(self._times, self._starts, ends, strict=True)
        ]


class WireTrace:
    """
    The last C{size} bytes each way of one connection.
    """

    __slots__ = ("received", "sent")

    def __init__(self, size: int) -> None:
        self.received = TraceRing(size)
        self.sent = TraceRing(size)

    def asJSON(self) -> dict[str, list[list[float | str]]]:
        """
        Both directions as the dashboard's API gives them: C{{"in": [[time,
        escaped text], ...], "out": [...]}}, oldest first.
        """
        return {
            "in": [[when, escape(data)] for when, data in self.received.chunks()],
            "out": [[when, escape(data)] for when, data in self.sent.chunks()],
        }
