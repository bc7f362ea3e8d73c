"""
One chat room across many daemons, kept in Redis (C{--chat-redis URL}).

  - L{netlab.chat.shared.room}: the room as this daemon's members see it
    (L{IChatRoom}), fed in the log's order;
  - L{netlab.chat.shared.roster}: everyone's names, and a member of another
    daemon as the commands see it;
  - L{netlab.chat.shared.interfaces}: what the room and its log ask of each other;
  - L{netlab.chat.shared.redislog}: the log in Redis (a Stream, a hash of
    names, heartbeats), over L{netlab.chat.shared.connection};
  - L{netlab.chat.shared.scripts}: the Lua that makes each step atomic;
  - L{netlab.chat.shared.address}: Redis URLs, and the start-up check.

The Redis client (txredisapi) is an extra: C{pip install 'netlab[redis]'}.
Only L{redislog} and L{connection} import it.
"""

from __future__ import annotations

import importlib.util
import re

#: A room name: letters, digits, C{.}, C{_} or C{-}; part of every Redis key.
ROOM_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)

#: Members' lines that may wait for the link to Redis (or for a slow Redis),
#: by default; past them, a line is refused with an C{ERR}.
HOLD = 1000

#: The room daemons join when no name is given.
DEFAULT_ROOM = "netlab"


def clientInstalled() -> bool:
    """
    Whether the Redis client the shared room needs is installed.
    """
    return importlib.util.find_spec("txredisapi") is not None
