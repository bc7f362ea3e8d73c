"""
Tests that need an optional extra: they skip, saying which and how to get it,
when it is not installed (a plain C{pip install netlab} has neither).
"""

from __future__ import annotations

import importlib.util
import unittest
from collections.abc import Callable

try:
    import hypothesis
    from hypothesis import strategies
except ImportError:
    hypothesis = None
    strategies = None

#: Why property tests skip in a plain install.
NO_HYPOTHESIS = "hypothesis is not installed (pip install 'netlab[test]' brings it)"

#: Why TLS tests skip in a plain install.
NO_OPENSSL = "pyOpenSSL is not installed (pip install 'netlab[tls]' brings it)"

#: Whether pyOpenSSL can be imported.
HAVE_OPENSSL = importlib.util.find_spec("OpenSSL") is not None


def needsOpenSSL(method: Callable) -> Callable:
    """
    Skip the decorated test when pyOpenSSL is not installed.
    """
    return unittest.skipUnless(HAVE_OPENSSL, NO_OPENSSL)(method)


def given(*strategyFactories: Callable, examples: int = 100) -> Callable:
    """
    Run the decorated test as a hypothesis property over what
    C{strategyFactories} (functions returning strategies; they are called
    only when hypothesis is there) draw, C{examples} times, with no deadline
    and no example database; skip it, saying why, without hypothesis.
    """

    def decorate(method: Callable) -> Callable:
        if hypothesis is None:
            return unittest.skip(NO_HYPOTHESIS)(method)
        settings = hypothesis.settings(
            max_examples=examples,
            deadline=None,  # no wall-clock limits in unit tests
            database=None,  # nothing written into the working tree
            suppress_health_check=[
                hypothesis.HealthCheck.too_slow,
                hypothesis.HealthCheck.data_too_large,
            ],
        )
        strategiesNow = [factory() for factory in strategyFactories]
        return settings(hypothesis.given(*strategiesNow)(method))

    return decorate
