"""
What the addresses the daemon listens on are: a bare port number or a Twisted
server endpoint string for a stream service, C{[HOST:]PORT} for a UDP one.

Each parser takes the text as typed and returns what to listen on, or raises
L{ValueError} with a message that quotes the text; the caller (L{netlab.tap})
puts the option's name in front.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import cache

from twisted.internet.endpoints import serverFromString

#: Listen queue for stream endpoints whose description does not set one.  With
#: Twisted's default of 50 the kernel drops connection attempts (ListenOverflows)
#: as soon as ~128 clients connect at once; Linux caps it at net.core.somaxconn.
DEFAULT_BACKLOG = 1024
_BACKLOG_KINDS = ("tcp", "tcp6", "ssl", "unix")

#: Endpoint kinds that need an optional extra, and the module that shows it is there.
_EXTRAS = {"ssl": ("tls", "OpenSSL"), "tls": ("tls", "OpenSSL")}

_UDP = re.compile(r"^(?:(?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^:]+)):)?(?P<port>\d+)$", re.ASCII)


@cache
def ipv6Listening() -> tuple[bool, bool]:
    """
    Whether this host can listen on IPv6, and whether an IPv6 socket then also
    takes IPv4 connections (Linux's C{net.ipv6.bindv6only} is 0, the default).
    """
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::", 0))
            v6only = probe.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
    except (OSError, AttributeError):
        return False, False
    return True, not v6only


def endpointDescriptions(value: str) -> list[str]:
    """
    The endpoint descriptions an option value means.  A bare port number is
    every interface, IPv6 and IPv4 alike where the host has IPv6 (C{tcp6:PORT},
    dual stack; C{tcp6:PORT} and C{tcp:PORT} where IPv6 sockets are IPv6-only),
    else C{tcp:PORT}.  Stream endpoints get netlab's listen backlog unless the
    description sets its own.
    """
    value = value.strip()
    if any(c.isdigit() and not c.isascii() for c in value):
        raise ValueError(f"{value!r}: write numbers with the digits 0-9")
    if value.isascii() and value.isdigit():
        port = int(value)
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is out of range (0-65535)")
        v6, dualStack = ipv6Listening()
        kinds = ["tcp6"] if dualStack else ["tcp6", "tcp"] if v6 else ["tcp"]
        return [withBacklog(f"{kind}:{port}") for kind in kinds]
    return [withBacklog(value)]


def withBacklog(description: str) -> str:
    """
    Give a stream endpoint description netlab's listen backlog unless it sets one.
    """
    if description.split(":", 1)[0] in _BACKLOG_KINDS and "backlog=" not in description:
        description += f":backlog={DEFAULT_BACKLOG}"
    return description


def checkEndpoint(value: str) -> list[str]:
    """
    Parse an endpoint option the way the daemon will, so that a bad one is
    refused before anything starts (this also loads TLS keys and certificates).
    Messages quote the value as the user typed it.
    """
    descriptions = endpointDescriptions(value)
    kind = value.strip().split(":", 1)[0].lower()
    if kind in _EXTRAS:
        extra, module = _EXTRAS[kind]
        try:
            __import__(module)
        except ImportError:
            raise ValueError(
                f"{value!r}: {kind}: endpoints need netlab's {extra!r} extra "
                f"(pip install 'netlab[{extra}]', or pip install '.[{extra}]' in a clone)"
            ) from None
    for description in descriptions:
        try:
            serverFromString(None, description)
        except Exception as e:
            if kind == "systemd" and isinstance(e, (IndexError, KeyError)):
                raise ValueError(
                    f"{value!r}: systemd handed over no such socket; systemd: endpoints are "
                    "for a unit started by a .socket unit (LISTEN_FDS, LISTEN_FDNAMES)"
                ) from None
            detail = str(e).strip() or type(e).__name__
            raise ValueError(
                f"{value!r} is not a port number or server endpoint ({detail})"
            ) from None
    return descriptions


def udpInterfaces(interface: str) -> list[str]:
    """
    The addresses a UDP listener binds for C{interface}: just that one, or for
    none (C{""}, a bare port) every interface, IPv6 and IPv4 alike, as for TCP.
    """
    if interface != "":
        return [interface]
    v6, dualStack = ipv6Listening()
    return ["::"] if dualStack else ["::", ""] if v6 else [""]


def parseUDP(value: str) -> tuple[str, int]:
    """
    Parse C{PORT}, C{HOST:PORT} or C{[V6HOST]:PORT} for a UDP service.
    """
    match = _UDP.match(value.strip())
    if match is None or not 0 <= int(match["port"]) <= 65535:
        raise ValueError(f"{value!r} is not PORT, HOST:PORT or [IPV6]:PORT")
    return match["v6"] or match["v4"] or "", int(match["port"])


def isLocalOnly(description: str) -> bool:
    """
    Whether a server endpoint description can be reached only from this
    machine: a UNIX socket, or TCP (or TLS) on a loopback address.  Anything
    else -- another address, every interface, a kind this does not know -- may
    be reachable from elsewhere.
    """
    parts = [part.replace("\\:", ":") for part in re.split(r"(?<!\\):", description)]
    kind = parts[0].strip().lower()
    if kind == "unix":
        return True
    if kind not in ("tcp", "tcp6", "ssl"):
        return False
    named = dict(part.split("=", 1) for part in parts[1:] if "=" in part)
    positional = [part for part in parts[1:] if "=" not in part]
    interface = named.get("interface")
    if interface is None and kind != "ssl" and len(positional) > 1:
        interface = positional[1]
    interface = (interface or "").strip().strip("[]")
    if interface.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(interface.split("%")[0]).is_loopback
    except ValueError:
        return False
