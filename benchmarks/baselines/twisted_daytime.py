"""
A minimal bare Twisted Day/Time server with Twisted's defaults (listenTCP backlog 50).

usage: python twisted_daytime.py PORT
"""

import sys
import time

from twisted.internet import protocol, reactor


class Daytime(protocol.Protocol):
    """
    Write the time and the farewell, then close.
    """

    def connectionMade(self) -> None:
        self.transport.write((time.ctime() + "\nHave a nice day!\n").encode("ascii"))
        self.transport.loseConnection()


def main(port: int) -> None:
    """
    Listen on loopback with the default backlog and run the reactor.

    @param port: the loopback port to listen on.
    """
    factory = protocol.Factory()
    factory.protocol = Daytime
    reactor.listenTCP(port, factory, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]))
