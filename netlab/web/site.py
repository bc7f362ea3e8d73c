"""
What netlab's two web sites share: a C{twisted.web} L{Site} whose connections
say goodbye on shutdown and cannot fill the disk, and the static files.

  - Request bodies are read and thrown away (both sites answer only C{GET}):
    C{twisted.web} would otherwise keep a large or chunked body in a
    temporary file, and a peer could fill the disk with one C{POST}.
  - A connection that sends nothing for L{HTTP_TIMEOUT} seconds is closed;
    once it becomes a WebSocket the service's own idle timeout applies.
  - On shutdown a WebSocket member says goodbye the service's way; other
    connections are closed.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel
from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from twisted.web.websocket import WebSocketResource
from wsproto import ConnectionType
from wsproto.events import AcceptConnection
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError

from netlab.address import describePeer, peerHost, peerKey
from netlab.framing import READ_AHEAD
from netlab.logthrottle import ThrottledLog

#: Seconds an HTTP connection may stay silent (twisted.web's default is 12 hours).
HTTP_TIMEOUT = 60.0

#: The files under C{netlab/web/static} and their types.
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

#: Headers on every page: no framing by other sites, no sniffing, nothing
#: loaded from anywhere but here.
SECURITY_HEADERS = {
    b"X-Content-Type-Options": b"nosniff",
    b"X-Frame-Options": b"DENY",
    b"Referrer-Policy": b"no-referrer",
    b"Content-Security-Policy": (
        b"default-src 'self'; connect-src 'self' ws: wss:; img-src 'self'; "
        b"style-src 'self'; script-src 'self'; frame-ancestors 'none'"
    ),
}


class _Discarded:
    """
    A request body's destination that keeps nothing.
    """

    def write(self, data: bytes) -> None:
        pass

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


class WebRequest(Request):
    """
    A request whose body is not kept, and whose page carries the security headers.
    """

    def gotLength(self, length: int | None) -> None:
        self.content = _Discarded()

    def process(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.responseHeaders.setRawHeaders(name, [value])
        super().process()

    def processingFailed(self, reason: Failure) -> Failure:
        """
        A bug met while answering: a plain 500, and the traceback logged at
        most once a minute per peer (C{twisted.web} logs every one, and a peer
        that found how to cause one could fill the disk).
        """
        errors = getattr(self.site, "errors", None)
        if errors is None:
            errors = self.site.errors = ThrottledLog(self.site.reactor)
        peer = peerHost(self.getClientAddress())
        errors.warn(
            None if peer is None else peerKey(peer),
            "web: {peer}: error answering {path}: {failure}",
            peer=describePeer(self.getClientAddress()),
            path=self.path[:200].decode("latin-1"),
            failure=reason.getTraceback(),
        )
        body = b"internal error\n"
        self.setResponseCode(500)
        self.setHeader(b"content-type", b"text/plain; charset=utf-8")
        self.setHeader(b"content-length", b"%d" % len(body))
        self.write(body)
        self.finish()
        return reason


class WebChannel(HTTPChannel):
    """
    An HTTP connection that may become a WebSocket member (L{member}).

    A peer that pipelines requests and never reads the answers would make
    C{twisted.web} buffer what it sends without end (it keeps reading while
    its output is full: 20 such peers took 280 MB).  Past L{READ_AHEAD} bytes
    read while the output is full, this one stops reading until the peer
    has taken what it was sent.
    """

    member: Any = None
    _outputFull = False
    _readWhileFull = 0
    _stoppedReading = False

    def dataReceived(self, data: bytes) -> None:
        if self._outputFull:
            self._readWhileFull += len(data)
            if self._readWhileFull > READ_AHEAD and not self._stoppedReading:
                self._stoppedReading = True
                self.transport.pauseProducing()
        super().dataReceived(data)

    def pauseProducing(self) -> None:
        self._outputFull, self._readWhileFull = True, 0
        super().pauseProducing()

    def resumeProducing(self) -> None:
        self._outputFull = False
        super().resumeProducing()
        if self._stoppedReading:
            self._stoppedReading = False
            self.transport.resumeProducing()

    def serverShutdown(self) -> None:
        """
        The daemon is stopping: a member says goodbye, anything else closes.
        """
        if self.member is not None:
            self.member.serverShutdown()
        elif self.transport is not None:
            self.transport.loseConnection()


def webSite(root: Resource, clock: IReactorTime) -> Site:
    """
    A L{Site} serving C{root} with netlab's requests and connections, its
    timers on C{clock}.
    """
    site = WebSite(root, timeout=HTTP_TIMEOUT, reactor=clock)
    site.protocol = WebChannel
    site.requestFactory = WebRequest
    site.displayTracebacks = False
    site.noisy = False
    return site


class WebSite(Site):
    """
    A L{Site} that keeps no access log: the guard logs connections
    (throttled), and a browser asks for the time every second.
    """

    def log(self, request: Request) -> None:
        pass


class StaticFile(Resource):
    """
    One of the files under C{netlab/web/static}, read once, served with its type.
    """

    isLeaf = True

    def __init__(self, name: str) -> None:
        super().__init__()
        self.data = files("netlab.web").joinpath("static", name).read_bytes()
        self.type = TYPES[name[name.rindex(".") :]].encode("ascii")

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", self.type)
        request.setHeader(b"cache-control", b"no-cache")
        return self.data


class Folder(Resource):
    """
    A resource whose children are what was put there, and nothing else: anything
    else is 404 (as C{twisted.web.pages.notFound} says it).
    """

    def getChild(self, path: bytes, request: Request) -> Resource:
        return notFound()

    def render(self, request: Request) -> bytes:
        return notFound().render(request)


def staticFolder(*names: str) -> Resource:
    """
    A C{/static} folder with the files C{names} and nothing else (no listing).
    """
    folder = Folder()
    for name in names:
        folder.putChild(name.encode("ascii"), StaticFile(name))
    return folder


def header(request: Request, name: bytes) -> str:
    """
    A request header's value as text ("" if it has none).
    """
    return (request.getHeader(name) or b"").decode("latin-1")


def crossSite(request: Request) -> bool:
    """
    Whether a browser sent C{request} from another site's page: its C{Origin}
    names another host than the one asked, or the browser says so
    (C{Sec-Fetch-Site: cross-site}).
    """
    host = header(request, b"host").strip()
    origin = header(request, b"origin")
    if origin and (origin == "null" or urlsplit(origin).netloc != host):
        return True  # ("null": a sandboxed frame, a file, a redirect: no site of ours)
    return request.getHeader(b"sec-fetch-site") == b"cross-site"


def _badHandshake(request: Request, code: int | None, why: str) -> bytes:
    request.setResponseCode(code or 400)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    return f"not a WebSocket handshake: {why}\n".encode("utf-8", "replace")


class WebSocketEndpoint(WebSocketResource):
    """
    A C{twisted.web.websocket} resource that answers a request that is not a
    valid WebSocket handshake with C{400} and a reason -- quietly: C{twisted.web}
    logs each one as an error, and any peer can send them.  A WebSocket
    opened by another site's page is refused (C{403}): browsers do not stop
    pages from opening WebSockets anywhere.
    """

    def render_GET(self, request: Request) -> bytes | int:
        if crossSite(request):
            request.setResponseCode(403)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"WebSockets from other sites' pages are refused\n"
        headers = [
            (name, value)
            for name, values in request.requestHeaders.getAllRawHeaders()
            for value in values
        ]
        try:
            handshake = H11Handshake(ConnectionType.SERVER)
            handshake.initiate_upgrade_connection(headers, request.path)
            handshake.send(AcceptConnection())  # (h11 refuses some only here)
        except RemoteProtocolError as e:
            return _badHandshake(request, getattr(e.event_hint, "status_code", None), str(e))
        except Exception as e:  # wsproto and h11 raise others on odd bytes
            return _badHandshake(request, None, type(e).__name__)
        return super().render_GET(request)
