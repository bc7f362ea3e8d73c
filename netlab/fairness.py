"""
One address's share of the reactor.

Every conversational connection may handle a number of messages per reactor
turn before it waits for the next turn (L{netlab.framing}), so that a client
piping a file cannot keep everyone else waiting.  Counted per connection, that
share grows with the connections one address opens: 64 Doctor connections from
one machine, each pipelining, made every other client on every service wait
1-1.5 s.  L{TurnBudget} counts per address instead -- an IPv4 address or an
IPv6 /64, over all its connections and all services that share the budget --
so one address gets the share one connection had, however many it opens.

The share is counted in units of work: a message costs one (taken before it is
handled), and a message that costs the server more charges the rest after it
was handled -- a chat line costs one more per L{DELIVERIES_PER_UNIT} people it
reached (L{netlab.framing.MessageReceiver.spendTurn}).  So one budget bounds
what an address may cost a turn, whichever service it floods.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime

from netlab.address import peerHost, peerKey

#: Units of work (messages) one address may have handled in one reactor turn,
#: over all its connections.  (256 Doctor replies are a few milliseconds.)
TURN_MESSAGES = 256

#: Units of work all addresses together may have handled in one reactor turn:
#: with many addresses each within its share, a turn would otherwise last as
#: long as all their shares (200 addresses' bursts of Doctor lines made one of
#: ~1.2 s).  A connection that has to wait goes first in the next turn.
TURN_TOTAL = 1024

#: Chat deliveries that cost as much as handling one message: 25,600
#: deliveries (about 10 ms) are one address's share of a turn.
DELIVERIES_PER_UNIT = 100


def addressKey(address: IAddress | None) -> str:
    """
    What L{TurnBudget} counts C{address} by: its IPv4 address, its IPv6 /64,
    or C{"local"} for peers without an IP address (UNIX sockets, stdio).
    """
    host = peerHost(address)
    return "local" if host is None else peerKey(host)


class TurnBudget:
    """
    Units of work (messages) each address may have handled in the current
    reactor turn.

    @ivar perTurn: the share of one address.
    @ivar total: what all addresses together may have.
    """

    def __init__(
        self, clock: IReactorTime, perTurn: int = TURN_MESSAGES, total: int = TURN_TOTAL
    ) -> None:
        self.clock = clock
        self.perTurn = perTurn
        self.total = total
        self._spent: dict[str, int] = {}
        self._spentTotal = 0
        self._newTurn: IDelayedCall | None = None

    def take(self, key: str) -> bool:
        """
        Count one message for C{key}; L{False} if its share of this turn is
        used up (the message must wait for the next turn).
        """
        spent = self._spent.get(key, 0)
        if spent >= self.perTurn or self._spentTotal >= self.total:
            return False
        if self._newTurn is None:
            self._newTurn = self.clock.callLater(0, self._reset)
        self._spent[key] = spent + 1
        self._spentTotal += 1
        return True

    def spend(self, key: str, cost: int) -> None:
        """
        Charge C{cost} more units to C{key} in this turn, after the fact (the
        work is done); its next L{take} in this turn fails if that used up
        its share.
        """
        if self._newTurn is None:
            self._newTurn = self.clock.callLater(0, self._reset)
        self._spent[key] = self._spent.get(key, 0) + cost
        self._spentTotal += cost

    def _reset(self) -> None:
        self._newTurn = None
        self._spent.clear()
        self._spentTotal = 0
