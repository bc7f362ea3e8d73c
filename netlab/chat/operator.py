"""
The operator's console in the chat room: in the room as C{operator}, never
rate-limited, never timed out, and the only member who may C{/kick} and
C{/wall}.  L{netlab.console} puts it on a terminal or a listening endpoint.
"""

from __future__ import annotations

from netlab.chat.factory import ChatFactory
from netlab.chat.names import OPERATOR
from netlab.chat.protocol import ChatProtocol
from netlab.framing import LINE


class OperatorProtocol(ChatProtocol):
    """
    The console: a line client from the start (a person at a terminal).
    """

    isOperator = True
    terminator = b"\r\n"
    mode = LINE

    def defaultName(self) -> str:
        return OPERATOR


class OperatorFactory(ChatFactory):
    """
    Builds operator consoles for the room of a L{ChatFactory}: the same room
    and limits, but no rate limit and no idle timeout.
    """

    protocol = OperatorProtocol

    def __init__(self, chat: ChatFactory) -> None:
        super().__init__(
            chat.clock,
            sendq=chat.sendq,
            rate=None,
            maxLineLength=chat.maxLineLength,
            bareDelay=chat.bareDelay,
            room=chat.room,
            addressRate=None,
            addressBytes=None,
        )
