"""
Tests for L{netlab.address}: a peer's IP address, its key and its log form.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import SynchronousTestCase

from netlab.address import describePeer, peerHost, peerKey, plainHost


class AddressTests(SynchronousTestCase):
    def test_peerHost(self) -> None:
        """
        An IPv4 peer of a dual-stack listener is its IPv4 address; a UNIX peer
        has none.
        """
        self.assertEqual(peerHost(IPv6Address("TCP", "::ffff:1.2.3.4", 5)), "1.2.3.4")
        self.assertEqual(peerHost(IPv6Address("TCP", "::1", 5)), "::1")
        self.assertIsNone(peerHost(UNIXAddress(b"/tmp/s")))
        self.assertIsNone(peerHost(None))
        self.assertEqual(plainHost("::ffff:10.0.0.1"), "10.0.0.1")
        self.assertEqual(plainHost("::ffff:a00:1"), "::ffff:a00:1")

    def test_peerKey(self) -> None:
        """
        An IPv4 address is its own key; an IPv6 address is keyed by its /64.
        """
        self.assertEqual(peerKey("10.0.0.1"), "10.0.0.1")
        self.assertEqual(peerKey("2001:db8:1:2::1"), "2001:db8:1:2::/64")
        self.assertEqual(peerKey("fe80::1%eth0"), "fe80::/64")
        self.assertEqual(peerKey("not:an:address"), "not:an:address")

    def test_describePeer(self) -> None:
        self.assertEqual(describePeer(IPv4Address("TCP", "1.2.3.4", 5)), "1.2.3.4:5")
        self.assertEqual(describePeer(IPv6Address("TCP", "::1", 5)), "[::1]:5")
        self.assertEqual(describePeer(UNIXAddress(b"/tmp/s")), "unix:/tmp/s")
        self.assertEqual(describePeer(UNIXAddress(None)), "unix")

    def test_unixPeerNameEscaped(self) -> None:
        """
        A UNIX peer's self-chosen socket name cannot forge or garble a log line.
        """
        hostile = "/tmp/x\n2026 [netlab#info] forged\x1b[2J\x00"
        text = describePeer(UNIXAddress(hostile.encode()))
        self.assertTrue(text.isprintable(), text)
        self.assertIn("\\n2026", text)
