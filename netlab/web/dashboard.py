"""
The teacher's dashboard (C{--dashboard}): every open connection of every
service, live, the recent events, and each connection's wire trace.

  - C{GET /}: the page (C{static/dashboard.html}, C{dashboard.js}, C{style.css}).
  - C{/api/live}: a WebSocket that sends, about once a second, C{{"connections":
    [...], "total": N, "events": [...]}} -- the open connections (at most
    L{LIVE_CONNECTIONS}) and the events since the previous message.
  - C{GET /api/connections}: every open connection (L{ConnectionMonitor.describe}).
  - C{GET /api/connections/ID/trace}: C{{"id": ID, "in": [[t, text], ...],
    "out": [...], "size": SIZE}}, the text escaped (L{netlab.trace.escape}).
  - C{GET /api/events?after=SEQ}: C{{"events": [...], "last": SEQ}}.

Anyone who reaches it sees every conversation.  With a token
(C{--dashboard-token}), every request but the static files must carry it
(C{?token=T} or C{Authorization: Bearer T}), compared in constant time.
Without one the dashboard listens on this machine only (the daemon refuses
to start otherwise), and it also refuses requests whose C{Host} is not this
machine's: a web page could otherwise point a name of its own at 127.0.0.1 and
read the dashboard from the teacher's browser.  The WebSocket refuses
another site's C{Origin} either way.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from twisted.internet.interfaces import IPushProducer, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from twisted.web.websocket import WebSocketTransport
from zope.interface import implementer

from netlab.monitor import ConnectionMonitor
from netlab.web.site import (
    Folder,
    StaticFile,
    WebSocketEndpoint,
    crossSite,
    header,
    staticFolder,
    webSite,
)

#: The page's files under C{netlab/web/static}.
PAGE, FILES = "dashboard.html", ("dashboard.js", "style.css", "favicon.svg")

#: How often the live view is sent, in seconds.
LIVE_INTERVAL = 1.0

#: Connections in one live message at most (C{total} says how many there are).
LIVE_CONNECTIONS = 1000

#: Events in the first live message.
FIRST_EVENTS = 100


def _json(request: Request, value: Any, code: int = 200) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


class _Refusal(Resource):
    """
    A request the dashboard will not answer, and why.
    """

    isLeaf = True

    def __init__(self, code: int, text: str) -> None:
        super().__init__()
        self.code, self.text = code, text

    def render(self, request: Request) -> bytes:
        request.setResponseCode(self.code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"netlab dashboard: {self.text}\n".encode()


def _number(text: bytes) -> bool:
    """
    Whether C{text} is a number the API takes (digits, not too many of them).
    """
    return text.isdigit() and len(text) <= 18


def _localHost(host: str) -> bool:
    """
    Whether a C{Host} header names this machine (a loopback address or C{localhost}).
    """
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Gate(Resource):
    """
    The dashboard's root: lets a request through to C{inner} only if it may
    see the dashboard (see the module docstring).
    """

    def __init__(self, inner: Resource, token: str | None) -> None:
        super().__init__()
        self.inner = inner
        self.token = token

    def getChildWithDefault(self, path: bytes, request: Request) -> Resource:
        if path in (b"static", b"favicon.ico"):
            return self.inner.getChildWithDefault(path, request)
        refusal = self.refusal(request)
        if refusal is not None:
            return refusal
        return self.inner.getChildWithDefault(path, request)

    def refusal(self, request: Request) -> Resource | None:
        """
        Why C{request} may not see the dashboard, or L{None} if it may.
        """
        host = header(request, b"host").strip()
        if crossSite(request):
            return _Refusal(403, "requests from other sites are refused")
        if self.token is None:
            if not _localHost(host):
                return _Refusal(
                    403, "without a token the dashboard answers only http://127.0.0.1 or "
                    "http://localhost (start netlab with --dashboard-token to reach it otherwise)"
                )
            return None
        given = self.given(request)
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            return _Refusal(401, "a token is needed: open /?token=TOKEN")
        return None

    @staticmethod
    def given(request: Request) -> str | None:
        """
        The token the request carries, if any.
        """
        values = request.args.get(b"token")
        if values:
            return values[0].decode("utf-8", "replace")
        authorization = header(request, b"authorization")
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None


class Connections(Resource):
    """
    C{/api/connections}, and C{/api/connections/ID/trace} below it.
    """

    def __init__(self, monitor: ConnectionMonitor) -> None:
        super().__init__()
        self.monitor = monitor

    def render_GET(self, request: Request) -> bytes:
        return _json(request, [self.monitor.describe(c) for c in self.monitor.connections()])

    def getChild(self, path: bytes, request: Request) -> Resource:
        return Trace(self.monitor, path)


class Trace(Resource):
    """
    C{/api/connections/ID/trace}.
    """

    isLeaf = True

    def __init__(self, monitor: ConnectionMonitor, path: bytes) -> None:
        super().__init__()
        self.monitor, self.path = monitor, path

    def render_GET(self, request: Request) -> bytes:
        if request.postpath != [b"trace"] or not _number(self.path):
            return _json(request, {"error": "not found: use /api/connections/ID/trace"}, 404)
        number = int(self.path)
        connection = self.monitor.find(number)
        if connection is None:
            return _json(request, {"error": f"no connection {number} (it has closed)"}, 404)
        if connection.trace is None:
            error = "tracing is off: start netlab with --trace 4K"
            return _json(request, {"error": error}, 409)
        return _json(request, {"id": number, **connection.trace.asJSON(),
                               "size": self.monitor.traceSize})


class Events(Resource):
    """
    C{/api/events?after=SEQ}.
    """

    isLeaf = True

    def __init__(self, monitor: ConnectionMonitor) -> None:
        super().__init__()
        self.monitor = monitor

    def render_GET(self, request: Request) -> bytes:
        after = (request.args.get(b"after") or [b"0"])[0]
        seq = int(after) if _number(after) else 0
        return _json(request, {"events": self.monitor.eventsAfter(seq),
                               "last": self.monitor.lastEvent})


@implementer(IPushProducer)
class LiveView:
    """
    One dashboard's WebSocket: sent the connections and the new events every
    L{LIVE_INTERVAL} seconds by L{LiveViews} -- not while it does not read.
    """

    def __init__(self, views: LiveViews, request: Request) -> None:
        self.views = views
        self.channel = request.channel
        self.lastEvent = max(views.monitor.lastEvent - FIRST_EVENTS, 0)
        self.paused = False
        self.transport: WebSocketTransport | None = None

    def negotiationStarted(self, transport: WebSocketTransport) -> None:
        self.transport = transport

    def negotiationFinished(self) -> None:
        self.channel.setTimeout(None)  # a view only listens
        self.transport.transport.unregisterProducer()  # (it was the HTTP channel)
        self.transport.attachProducer(self)
        self.views.add(self)

    def send(self, connections: str, total: int) -> None:
        if self.paused:
            return
        events = self.views.monitor.eventsAfter(self.lastEvent)
        if events:
            self.lastEvent = events[-1]["seq"]
        self.transport.sendTextMessage(
            f'{{"connections":{connections},"total":{total},'
            f'"events":{json.dumps(events, separators=(",", ":"))}}}'
        )

    def textMessageReceived(self, message: str) -> None:
        pass

    def bytesMessageReceived(self, data: bytes | bytearray) -> None:
        pass

    def pongReceived(self, payload: bytes) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        self.views.discard(self)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False

    def stopProducing(self) -> None:
        self.paused = True


class LiveViews:
    """
    Every open live view, and the one timer that sends them all the same
    list of connections.
    """

    def __init__(self, clock: IReactorTime, monitor: ConnectionMonitor) -> None:
        self.monitor = monitor
        self._views: set[LiveView] = set()
        self._loop = LoopingCall(self._send)
        self._loop.clock = clock

    def buildProtocol(self, request: Request) -> LiveView:
        return LiveView(self, request)

    def add(self, view: LiveView) -> None:
        self._views.add(view)
        if not self._loop.running:
            self._loop.start(LIVE_INTERVAL, now=True)
        else:
            self._sendTo([view])

    def discard(self, view: LiveView) -> None:
        self._views.discard(view)
        if not self._views and self._loop.running:
            self._loop.stop()

    def _send(self) -> None:
        self._sendTo(list(self._views))

    def _sendTo(self, views: list[LiveView]) -> None:
        views = [view for view in views if not view.paused]
        if not views:  # (describing every connection for no reader is work for nothing)
            return
        connections = list(self.monitor.connections())
        shown = [self.monitor.describe(c) for c in connections[:LIVE_CONNECTIONS]]
        text = json.dumps(shown, separators=(",", ":"))
        for view in views:
            view.send(text, len(connections))


def dashboardSite(clock: IReactorTime, monitor: ConnectionMonitor, token: str | None) -> Site:
    """
    The dashboard's site, showing what C{monitor} sees, open to whoever has
    C{token} (or, with none, to this machine only).
    """
    inner = Folder()
    inner.putChild(b"", StaticFile(PAGE))
    inner.putChild(b"static", staticFolder(*FILES))
    inner.putChild(b"favicon.ico", StaticFile("favicon.svg"))
    api = Folder()
    api.putChild(b"connections", Connections(monitor))
    api.putChild(b"events", Events(monitor))
    api.putChild(b"live", WebSocketEndpoint(LiveViews(clock, monitor)))
    inner.putChild(b"api", api)
    return webSite(Gate(inner, token), clock)
