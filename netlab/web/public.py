"""
The public page (C{--web}): the Day/Time, the Chat room and the Doctor in a
browser, on C{twisted.web}.

  - C{GET /}: one page (C{static/index.html}, C{app.js}, C{style.css}; no build
    step, nothing from elsewhere).
  - C{GET /daytime}: what the Day/Time service sends, as C{text/plain}.
  - C{/ws/chat}, C{/ws/doctor}: WebSockets; a text message is a line, each
    way (L{netlab.web.stream}).  A browser member is a member of the same
    room, or an ordinary Doctor session, built by the same factory as the TCP
    clients'.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime
from twisted.internet.protocol import Factory
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from netlab.daytime import DaytimeText
from netlab.web.site import Folder, StaticFile, WebSocketEndpoint, staticFolder, webSite
from netlab.web.stream import WebSocketStream

#: The page's files under C{netlab/web/static}.
PAGE, FILES = "index.html", ("app.js", "style.css", "favicon.svg")


class MemberFactory:
    """
    Builds a L{WebSocketStream} for each browser that opens a WebSocket to a
    service (a C{twisted.web.websocket} server factory).
    """

    def __init__(self, factory: Factory, service: str) -> None:
        self.factory = factory
        self.service = service

    def buildProtocol(self, request: Request) -> WebSocketStream:
        return WebSocketStream(self.factory, self.service, request)


class DaytimePage(Resource):
    """
    C{GET /daytime}: the Day/Time service's text, never cached.
    """

    isLeaf = True

    def __init__(self, text: DaytimeText) -> None:
        super().__init__()
        self.text = text

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return self.text()


def publicSite(
    clock: IReactorTime, chat: Factory, doctor: Factory, timeFormat: str
) -> Site:
    """
    The public page's site: its chat members come from C{chat}, its Doctor
    sessions from C{doctor}, its time is formatted as C{timeFormat}.
    """
    root = Folder()
    root.putChild(b"", StaticFile(PAGE))
    root.putChild(b"static", staticFolder(*FILES))
    root.putChild(b"favicon.ico", StaticFile("favicon.svg"))
    root.putChild(b"daytime", DaytimePage(DaytimeText(clock, timeFormat)))
    sockets = Folder()
    sockets.putChild(b"chat", WebSocketEndpoint(MemberFactory(chat, "chat")))
    sockets.putChild(b"doctor", WebSocketEndpoint(MemberFactory(doctor, "doctor")))
    root.putChild(b"ws", sockets)
    return webSite(root, clock)
