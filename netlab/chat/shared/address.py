"""
Where the shared room's Redis is: C{redis://[USER:PASSWORD@]HOST[:PORT][/DB]},
C{rediss://...} (TLS; C{?ca=PATH} for a private certificate authority) or
C{unix:///PATH[?db=N&password=PASSWORD]}.

L{RedisAddress.probe} asks Redis for a C{PING} before the daemon starts (and
before twistd forks), so that a Redis that cannot be reached stops the daemon
with one line, as a port in use does.  The password is never shown.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from twisted.internet.endpoints import (
    HostnameEndpoint,
    UNIXClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.interfaces import IStreamClientEndpoint

#: Redis's own port.
DEFAULT_PORT = 6379

#: How long connecting (and the start-up probe) may take, in seconds.
CONNECT_TIMEOUT = 5.0

#: The schemes understood.
SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class RedisAddress:
    """
    A parsed Redis URL.
    """

    scheme: str
    host: str = ""
    port: int = DEFAULT_PORT
    path: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca: str | None = None

    @classmethod
    def parse(cls, url: str) -> RedisAddress:
        """
        Parse C{url}.

        @raise ValueError: saying what is wrong with it (never quoting a password).
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(
                "a Redis URL is redis://HOST[:PORT][/DB], rediss://... or unix:///PATH"
            )
        query = parse_qs(parts.query)
        unknown = set(query) - {"db", "password", "ca"}
        if unknown:
            raise ValueError(f"unknown URL parameter {sorted(unknown)[0]!r} (db, password, ca)")
        password = unquote(parts.password) if parts.password is not None else None
        password = query.get("password", [password])[0]
        username = unquote(parts.username) if parts.username else None
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ValueError("the port is not a number from 1 to 65535") from None
        db = query.get("db", [None])[0]
        if scheme != "unix" and parts.path.strip("/"):
            db = parts.path.strip("/")
        try:
            number = int(db or 0)
        except ValueError:
            raise ValueError("the database is a number (redis://HOST:PORT/0)") from None
        if number < 0:
            raise ValueError("the database is a number from 0")
        if scheme == "unix":
            if not parts.path:
                raise ValueError("unix:///PATH names the socket")
            return cls(
                scheme, path=unquote(parts.path), db=number, username=username, password=password
            )
        if not parts.hostname:
            raise ValueError(f"{scheme}://HOST needs a host")
        ca = query.get("ca", [None])[0]
        if ca is not None and scheme != "rediss":
            raise ValueError("?ca= is for rediss:// (TLS) only")
        return cls(
            scheme, parts.hostname, port, db=number, username=username, password=password, ca=ca
        )

    def __str__(self) -> str:
        """
        The URL as it may be shown: without the password.
        """
        secret = "***@" if self.password is not None else ""
        user = f"{self.username}:" if self.username and secret else ""
        if self.scheme == "unix":
            return f"unix://{user}{secret}{self.path}" + (f"?db={self.db}" if self.db else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{secret}{host}:{self.port}/{self.db}"

    def endpoint(self, reactor) -> IStreamClientEndpoint:
        """
        A Twisted client endpoint that reaches this Redis.
        """
        if self.scheme == "unix":
            return UNIXClientEndpoint(reactor, self.path, timeout=CONNECT_TIMEOUT)
        endpoint = HostnameEndpoint(reactor, self.host, self.port, timeout=CONNECT_TIMEOUT)
        if self.scheme == "redis":
            return endpoint
        # pyOpenSSL is an extra (tls, redis): only rediss:// needs it.
        from twisted.internet.ssl import Certificate, optionsForClientTLS

        trust = None
        if self.ca is not None:
            with open(self.ca, "rb") as f:
                trust = Certificate.loadPEM(f.read())
        return wrapClientTLS(optionsForClientTLS(self.host, trustRoot=trust), endpoint)

    def probe(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """
        Connect, authenticate, select the database and C{PING}, blocking.

        @raise OSError: if Redis cannot be reached or refuses (the message
            says why, without the password).
        """
        if self.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(self.path)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((self.host, self.port), timeout)
        with sock:
            if self.scheme == "rediss":
                context = ssl.create_default_context(cafile=self.ca)
                sock = context.wrap_socket(sock, server_hostname=self.host)
            commands = []
            if self.password is not None:
                credentials = [self.username] if self.username else []
                commands.append(["AUTH", *credentials, self.password])
            if self.db:
                commands.append(["SELECT", str(self.db)])
            commands.append(["PING"])
            reader = sock.makefile("rb")
            for command in commands:
                sock.sendall(_encode(command))
                reply = reader.readline(65536)
                if not reply:
                    raise OSError("Redis closed the connection")
                if reply.startswith(b"-"):
                    what = "authentication" if command[0] == "AUTH" else command[0]
                    text = reply[1:].decode("utf-8", "replace").strip()
                    raise OSError(f"{what} refused: {text}")


def _encode(command: list[str]) -> bytes:
    """
    One command in Redis's protocol (RESP).
    """
    out = [b"*%d\r\n" % len(command)]
    for word in command:
        data = word.encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)
