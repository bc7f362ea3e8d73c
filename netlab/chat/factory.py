"""
The chat service's factory: one room, and the limits of every member in it.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress, IReactorTime

from netlab.chat.interfaces import IChatRoom
from netlab.chat.output import SENDQ
from netlab.chat.protocol import ChatProtocol
from netlab.chat.room import ANNOUNCE_LIMIT, HISTORY, ChatRoom
from netlab.framing import BARE_DELAY, MAX_LINE, MessageFactory
from netlab.ratelimit import Rate

#: The default flood limit: five lines a second, bursts of 20.
RATE = Rate(5.0, 20)


class ChatFactory(MessageFactory):
    """
    Builds the members of one room.

    @ivar room: the room every member of this factory joins.
    @ivar sendq: unsent bytes a member may owe beyond its transport's buffer.
    @ivar rate: each member's pace (L{netlab.pacing}), or L{None} for none.
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
    ) -> None:
        super().__init__(clock, maxLineLength, bareDelay, idleTimeout, rate)
        if room is None:
            room = ChatRoom(clock, history, announceLimit, self.idleTimeout)
        self.room = room
        self.sendq = sendq

    def buildProtocol(self, addr: IAddress) -> ChatProtocol:
        """
        A member of this factory's room.
        """
        protocol = super().buildProtocol(addr)
        protocol.room = self.room
        return protocol
