"""
netlab in a browser: the public page (L{netlab.web.public}: the Day/Time, the
Chat room and the Doctor) and the teacher's dashboard (L{netlab.web.dashboard}),
on C{twisted.web} and C{twisted.web.websocket}.
"""
