"""
The Chat service: one room, many people at once.

The course's chat server talks to one client at a time; this one keeps a room
that everyone connected to the service is in.  Its parts, one job each:

  - L{netlab.chat.interfaces}: what a room (L{IChatRoom}) and a member
    (L{IChatMember}) may ask of each other;
  - L{netlab.chat.room}: the room of one process (membership, fan-out, idle sweep);
  - L{netlab.chat.protocol}: a member on a stream connection (joining, the
    welcome, lockstep clients, flood limit);
  - L{netlab.chat.output}: a member's send queue and its drop on overflow;
  - L{netlab.chat.commands}: C{/nick}, C{/who}, C{/me}, C{/msg}, ...;
  - L{netlab.chat.names}: valid, reserved and equal names;
  - L{netlab.chat.factory}: the service's factory;
  - L{netlab.chat.operator}: the operator's console member.
"""

from __future__ import annotations

from netlab.chat.commands import WHO_LIMIT
from netlab.chat.factory import ADDRESS_BYTES, ADDRESS_RATE, RATE, ChatFactory
from netlab.chat.interfaces import IChatMember, IChatRoom
from netlab.chat.names import OPERATOR, nameKey, reserved
from netlab.chat.operator import OperatorFactory, OperatorProtocol
from netlab.chat.output import DROP_GRACE, SENDQ
from netlab.chat.protocol import GREETING, HINT, WELCOME_WAIT, ChatProtocol
from netlab.chat.room import ANNOUNCE_LIMIT, HISTORY, ChatRoom

__all__ = [
    "ADDRESS_BYTES",
    "ADDRESS_RATE",
    "ANNOUNCE_LIMIT",
    "DROP_GRACE",
    "GREETING",
    "HINT",
    "HISTORY",
    "OPERATOR",
    "RATE",
    "SENDQ",
    "WELCOME_WAIT",
    "WHO_LIMIT",
    "ChatFactory",
    "ChatProtocol",
    "ChatRoom",
    "IChatMember",
    "IChatRoom",
    "OperatorFactory",
    "OperatorProtocol",
    "nameKey",
    "reserved",
]
