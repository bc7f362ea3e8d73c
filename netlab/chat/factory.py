"""
The chat service's factory: one room, and the limits of every member in it.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress, IReactorTime

from netlab.chat.interfaces import IChatRoom
from netlab.chat.output import SENDQ
from netlab.chat.protocol import ChatProtocol
from netlab.chat.room import ANNOUNCE_LIMIT, HISTORY, ChatRoom
from netlab.fanout import ParallelSend
from netlab.framing import BARE_DELAY, MAX_LINE, MessageFactory
from netlab.pacing import AddressShare
from netlab.ratelimit import Rate

#: The default pace of one member: five lines a second, bursts of 20.
RATE = Rate(5.0, 20)

#: What one address may send into the room by default, over all its
#: connections: 25 lines a second (bursts of 100), and 64 KiB a second (bursts
#: of 256 KiB).  A member reading at a modest 1 MB/s is then never left behind
#: by any one address, however many connections it opens within their pace.
ADDRESS_RATE = Rate(25.0, 100)
ADDRESS_BYTES = 64 * 1024


class ChatFactory(MessageFactory):
    """
    Builds the members of one room.

    @ivar room: the room every member of this factory joins.
    @ivar sendq: unsent bytes a member may owe beyond its transport's buffer.
    @ivar rate: each member's pace (L{netlab.pacing}), or L{None} for none.
    @ivar addressShare: what one address may send into the room over all its
        connections (L{AddressShare}), or L{None}.
    """

    protocol: type[ChatProtocol] = ChatProtocol

    def __init__(
        self,
        clock: IReactorTime,
        history: int = HISTORY,
        sendq: int = SENDQ,
        rate: Rate | None = RATE,
        announceLimit: int = ANNOUNCE_LIMIT,
        maxLineLength: int = MAX_LINE,
        bareDelay: float = BARE_DELAY,
        idleTimeout: float | None = None,
        room: IChatRoom | None = None,
        addressRate: Rate | None = ADDRESS_RATE,
        addressBytes: int | None = ADDRESS_BYTES,
        sender: ParallelSend | None = None,
    ) -> None:
        super().__init__(clock, maxLineLength, bareDelay, idleTimeout, rate)
        self.addressShare = None
        if addressRate or addressBytes:
            self.addressShare = AddressShare(addressRate, addressBytes)
        if room is None:
            room = ChatRoom(clock, history, announceLimit, self.idleTimeout, sender)
        self.room = room
        self.sendq = sendq

    def buildProtocol(self, addr: IAddress) -> ChatProtocol:
        """
        A member of this factory's room.
        """
        protocol = super().buildProtocol(addr)
        protocol.room = self.room
        return protocol
