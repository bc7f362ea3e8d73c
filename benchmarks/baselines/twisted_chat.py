"""
A minimal Twisted chat room in the documentation's shape: a set of clients, and each
line written to every other client. No history, no limits, no scrubbing.

usage: python twisted_chat.py PORT
"""

import sys

from twisted.internet import protocol, reactor
from twisted.protocols.basic import LineReceiver


class Chat(LineReceiver):
    """
    One room member.
    """

    delimiter = b"\n"

    def connectionMade(self) -> None:
        self.factory.clients.add(self)

    def connectionLost(self, reason: object = None) -> None:
        self.factory.clients.discard(self)

    def lineReceived(self, line: bytes) -> None:
        for client in self.factory.clients:
            if client is not self:
                client.sendLine(line)


class ChatFactory(protocol.Factory):
    """
    Holds the room: the set of connected clients.

    @ivar clients: every connected L{Chat}.
    """

    protocol = Chat

    def __init__(self) -> None:
        self.clients: set[Chat] = set()


def main(port: int) -> None:
    """
    Listen on loopback with Twisted's defaults and run the reactor.

    @param port: the loopback port to listen on.
    """
    reactor.listenTCP(port, ChatFactory(), interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]))
