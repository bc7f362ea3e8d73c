"""
A connection closed while its output is backed up must still close once the
peer has read everything (found by the fault suite, scenario 7).

Twisted's TCP transport, on draining its buffer, calls C{resumeProducing} on a
paused streaming producer I{instead of} finishing a pending C{loseConnection},
and stops watching for writability: unless the producer then steps aside, the
connection stays open for good.  These tests drive the real
L{twisted.internet.abstract.FileDescriptor} write logic (the base of TCP
transports) with a socket that can be made to accept nothing or everything.
"""

from __future__ import annotations

from twisted.internet import abstract
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor.service import DoctorFactory


class FakeSocketTransport(abstract.FileDescriptor):
    """
    A L{FileDescriptor} whose socket takes nothing while C{peerReading} is
    false (so the transport buffers and pauses its producer) and everything
    while it is true.  C{writing} is whether the reactor would call
    L{doWrite}.
    """

    bufferSize = 1024
    peerReading = False
    writing = False

    def __init__(self) -> None:
        super().__init__(MemoryReactor())
        self.connected = 1
        self.sent: list[bytes] = []

    def writeSomeData(self, data) -> int:
        if not self.peerReading:
            return 0
        self.sent.append(bytes(data))
        return len(data)

    def startWriting(self) -> None:
        self.writing = True

    def stopWriting(self) -> None:
        self.writing = False

    def startReading(self) -> None:
        pass

    def stopReading(self) -> None:
        pass

    def getPeer(self):
        return None

    def getHost(self):
        return None

    def drain(self):
        """
        What the reactor does while the peer reads: call L{doWrite} as long as
        the transport asks for it; return what the last call returned (a
        failure-like value means the connection is to be closed).
        """
        self.peerReading = True
        result = None
        for _ in range(100):
            if not self.writing or result is not None:
                break
            result = self.doWrite()
        return result


class CloseWhileBackedUpTests(SynchronousTestCase):
    def connect(self):
        factory = DoctorFactory(Clock())
        factory.readSize = None  # keep this transport's small buffer
        protocol = factory.buildProtocol(None)
        transport = FakeSocketTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(b"I am sad\n" * 100)
        self.assertTrue(transport.producerPaused, "the output should be backed up")
        return protocol, transport

    def test_goodbyeWhileBackedUp(self):
        """
        A Doctor client says goodbye while its replies are backed up: once it
        has read them all, the connection closes.
        """
        protocol, transport = self.connect()
        protocol.messageReceived("bye")
        self.assertIsInstance(transport.drain(), ConnectionDone)
        self.assertTrue(b"".join(transport.sent).endswith(b"Have a nice day!\n"))

    def test_shutdownWhileBackedUp(self):
        """
        The daemon stops while a client's output is backed up: the client gets
        everything, the shutdown line last, and the connection closes (rather
        than waiting for the shutdown's grace period to abort it).
        """
        protocol, transport = self.connect()
        protocol.serverShutdown()
        self.assertIsInstance(transport.drain(), ConnectionDone)
        self.assertTrue(b"".join(transport.sent).endswith(b"* server shutting down\n"))
