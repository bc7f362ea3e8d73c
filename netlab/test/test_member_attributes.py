"""
A chat member's instance attributes stay few enough to share one key table.

CPython (3.11 and later) stores the attributes of a class's instances as
values over one table of keys per class, holding at most 30 names, filled in
the order instances first set them.  An instance that sets a name the full
table lacks gets a whole dictionary of its own instead, ~0.6 KiB more per
idle chat client (issue 16: 1.55 KiB per client at 10,000 became 2.15 when
two names were added).  Names set on only some members belong in the class's
C{__slots__}.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from twisted.trial.unittest import SynchronousTestCase

from netlab.chat import ChatProtocol
from netlab.framing import MessageReceiver

#: CPython's limit on a class's shared attribute keys (SHARED_KEYS_MAX_SIZE).
SHARED_KEYS = 30

#: Names others set on a member: its factory (Twisted's Factory.buildProtocol)
#: and its room (ChatFactory.buildProtocol).
SET_FROM_OUTSIDE = {"factory", "room"}

#: Names a base class sets in code a member never runs: TimeoutMixin's, set
#: by setTimeout, which only MessageReceiver.watchIdle calls (a chat member's
#: room watches its silence instead).
NEVER_SET = {"timeOut", "_TimeoutMixin__timeoutCall"}


def assignedNames(cls: type) -> set[str]:
    """
    The instance attribute names that the methods of C{cls} and its bases
    assign to C{self} (as stored: private names mangled), outside slots.
    """
    names: set[str] = set()
    for klass in cls.__mro__:
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        slots = set(getattr(klass, "__slots__", ()))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            else:
                continue
            while targets:
                target = targets.pop()
                if isinstance(target, (ast.Tuple, ast.List)):
                    targets.extend(target.elts)
                elif (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                    and target.attr not in slots
                ):
                    name = target.attr
                    if name.startswith("__") and not name.endswith("__"):
                        name = f"_{klass.__name__.lstrip('_')}{name}"
                    names.add(name)
    return names


class MemberAttributesTests(SynchronousTestCase):
    def test_fitSharedKeys(self) -> None:
        """
        Every name a chat member may have fits in one shared key table.
        """
        names = (assignedNames(ChatProtocol) | SET_FROM_OUTSIDE) - NEVER_SET
        self.assertLessEqual(
            len(names),
            SHARED_KEYS,
            f"{len(names)} names (put the rarely set ones in __slots__): {sorted(names)}",
        )

    def test_neverSetStillTrue(self) -> None:
        """
        The names counted as never set stay so: the chat member overrides the
        two methods that would start or reset TimeoutMixin's timer.
        """
        self.assertIsNot(ChatProtocol.watchIdle, MessageReceiver.watchIdle)
        self.assertIsNot(ChatProtocol.peerHeard, MessageReceiver.peerHeard)
        self.assertLessEqual(NEVER_SET, assignedNames(MessageReceiver))

    def test_countsAssignments(self) -> None:
        """
        The count sees plain, tuple, augmented and annotated assignments, and
        leaves out slots.
        """

        class Sample:
            __slots__ = ("slotted",)

            def method(self) -> None:
                self.plain = 1
                self.first, (self.second, self.__private) = 1, (2, 3)
                self.counter += 1
                self.annotated: int = 0
                self.slotted = 0

        self.assertEqual(
            assignedNames(Sample),
            {"plain", "first", "second", "_Sample__private", "counter", "annotated"},
        )
