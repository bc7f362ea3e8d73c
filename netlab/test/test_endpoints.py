"""
Tests for L{netlab.endpoints}: what a service option's value listens on.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netlab.endpoints import endpointDescriptions, ipv6Listening, parseUDP, udpInterfaces


class EndpointTests(SynchronousTestCase):
    def test_endpointDescriptions(self) -> None:
        v6, dualStack = ipv6Listening()
        kinds = ["tcp6"] if dualStack else ["tcp6", "tcp"] if v6 else ["tcp"]
        self.assertEqual(endpointDescriptions("80"), [f"{k}:80:backlog=1024" for k in kinds])
        self.assertEqual(endpointDescriptions(" tcp:80 "), ["tcp:80:backlog=1024"])
        self.assertEqual(endpointDescriptions("tcp6:80"), ["tcp6:80:backlog=1024"])
        self.assertEqual(endpointDescriptions("tcp:80:backlog=5"), ["tcp:80:backlog=5"])
        self.assertEqual(
            endpointDescriptions("systemd:domain=INET:index=0"), ["systemd:domain=INET:index=0"]
        )

    def test_parseUDP(self) -> None:
        self.assertEqual(parseUDP("13"), ("", 13))
        self.assertEqual(parseUDP("127.0.0.1:13"), ("127.0.0.1", 13))
        self.assertRaises(ValueError, parseUDP, "127.0.0.1:99999")

    def test_udpInterfaces(self) -> None:
        """
        A bare UDP port is every interface, IPv6 and IPv4 alike, as for TCP; an
        address is that address only.
        """
        v6, dualStack = ipv6Listening()
        everywhere = ["::"] if dualStack else ["::", ""] if v6 else [""]
        self.assertEqual(udpInterfaces(""), everywhere)
        self.assertEqual(udpInterfaces("127.0.0.1"), ["127.0.0.1"])
