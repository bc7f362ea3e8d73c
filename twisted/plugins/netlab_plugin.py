"""
twistd plugin: C{twistd netlab}.  Imports nothing heavy; L{netlab.tap} is loaded
only when the plugin is used.
"""

from twisted.application.service import ServiceMaker

netlab = ServiceMaker(
    "netlab",
    "netlab.tap",
    "The classic course servers: Day/Time, Chat and the Doctor",
    "netlab",
)
