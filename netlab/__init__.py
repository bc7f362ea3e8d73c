"""
netlab: the classic course servers as Twisted services.
"""

__version__ = "0.1.0"
