"""
What a peer's address is: its IP address, what the per-address limits count it
by, and how log lines show it.
"""

from __future__ import annotations

import ipaddress

from twisted.internet.interfaces import IAddress


def peerHost(address: IAddress | None) -> str | None:
    """
    The IP address of a peer, or L{None} for peers that have none (UNIX sockets).
    An IPv4 peer of a dual-stack (IPv6) listener, C{::ffff:1.2.3.4}, is
    C{1.2.3.4}, as it would be on an IPv4 listener.
    """
    host = getattr(address, "host", None)
    return None if host is None else plainHost(host)


def plainHost(host: str) -> str:
    """
    C{host}, with an IPv4 address seen through a dual-stack socket
    (C{::ffff:1.2.3.4}) written as the IPv4 address it is.
    """
    return host[7:] if host.startswith("::ffff:") and "." in host else host


def peerKey(host: str) -> str:
    """
    What the per-peer limits count by: an IPv4 address, or an IPv6 address's
    /64 (one host usually has a whole /64 to pick addresses from).
    """
    if ":" not in host:
        return host
    try:
        return str(ipaddress.IPv6Network(f"{host.split('%')[0]}/64", strict=False))
    except ValueError:
        return host


def describePeer(address: IAddress | None) -> str:
    """
    A short, log-friendly form of an address: C{1.2.3.4:5}, C{[::1]:5}, C{unix:PATH}.
    """
    host = peerHost(address)
    if host is None:
        name = getattr(address, "name", None)
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        # A UNIX peer chooses its own socket name: escape what could forge or
        # garble a log line (newlines, escape sequences, NUL, bidi controls).
        return f"unix:{_escaped(name)}" if name else "unix"
    port = getattr(address, "port", "")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _escaped(text: str, limit: int = 108) -> str:
    """
    C{text} with everything but printable characters escaped, cut at C{limit}.
    """
    if text.isprintable() and len(text) <= limit:
        return text
    return text[:limit].encode("unicode_escape").decode("ascii")
