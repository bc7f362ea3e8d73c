"""
Tests for L{netlab.fairness}: one address's share of a reactor turn, and all
addresses' together.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from netlab.fairness import TurnBudget


class TurnBudgetTests(SynchronousTestCase):
    def test_perAddress(self) -> None:
        """
        An address gets its share of a turn; another address has its own; the
        next turn starts afresh.
        """
        clock = Clock()
        budget = TurnBudget(clock, perTurn=3, total=100)
        self.assertEqual([budget.take("a") for _ in range(4)], [True, True, True, False])
        self.assertTrue(budget.take("b"))
        clock.advance(0)
        self.assertTrue(budget.take("a"))

    def test_total(self) -> None:
        """
        Many addresses, each within its share, together get no more than the
        total: a turn's length is bounded however many addresses send.
        """
        clock = Clock()
        budget = TurnBudget(clock, perTurn=3, total=10)
        taken = sum(budget.take(f"10.0.0.{n}") for n in range(20))
        self.assertEqual(taken, 10)
        clock.advance(0)
        self.assertTrue(budget.take("10.0.0.19"))

    def test_spendCountsTowardsBoth(self) -> None:
        """
        Work charged after the fact counts for the address and the total.
        """
        clock = Clock()
        budget = TurnBudget(clock, perTurn=10, total=10)
        budget.spend("a", 9)
        self.assertTrue(budget.take("b"))
        self.assertFalse(budget.take("c"))
