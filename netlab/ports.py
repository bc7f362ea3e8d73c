"""
The default port of every netlab service, defined once: the daemon listens on
these when started without options (L{netlab.tap}), and the client connects to
them when given no endpoint (L{netlab.client}).
"""

#: Service name -> default port (TCP and, where the service has one, UDP).
PORTS: dict[str, int] = {
    "daytime": 21566,
    "doctor": 21567,
    "chat": 21568,
    "web": 21569,
    "dashboard": 21570,
    "echo": 21571,
    "discard": 21572,
    "chargen": 21573,
    "qotd": 21574,
    "time": 21575,
}
