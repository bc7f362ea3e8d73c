"""
nltk's ELIZA (C{nltk.chat.eliza}) served one reply per line by a minimal Twisted
LineReceiver: the TCP reference for the Doctor scenario.

usage: python twisted_eliza.py PORT
"""

import sys

from nltk.chat.eliza import eliza_chatbot
from twisted.internet import protocol, reactor
from twisted.protocols.basic import LineReceiver


class Eliza(LineReceiver):
    """
    One conversation: a greeting line, then one reply line per line received.
    """

    delimiter = b"\n"

    def connectionMade(self) -> None:
        self.sendLine(b"Hello. How are you feeling today?")

    def lineReceived(self, line: bytes) -> None:
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        reply = eliza_chatbot.respond(text) or ""
        self.sendLine(reply.replace("\n", " ").encode("utf-8"))


def main(port: int) -> None:
    """
    Listen on loopback and run the reactor.

    @param port: the loopback port to listen on.
    """
    factory = protocol.Factory()
    factory.protocol = Eliza
    reactor.listenTCP(port, factory, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]))
