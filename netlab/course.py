"""
Words of the course's own programs that more than one netlab service says,
defined once.  (No Twisted here: the Doctor's engine uses this too.)
"""

from __future__ import annotations

#: The last line of the course's Day/Time server, and the Doctor's goodbye.
FAREWELL = "Have a nice day!"
