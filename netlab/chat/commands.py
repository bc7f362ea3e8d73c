"""
The chat room's commands: C{/nick}, C{/who}, C{/me}, C{/msg}, C{/quit},
C{/help}, and the operator's C{/kick} and C{/wall}.

L{ChatCommands} is mixed into a member class; it uses only the member's public
side: C{name}, C{room} (an L{IChatRoom}), C{isOperator}, C{sendMessage},
C{sendLines}, C{sendError}, C{renamed} and C{close}, and a kicked member's
C{reportLimit}.
"""

from __future__ import annotations

from collections.abc import Callable

from netlab.chat.interfaces import PENDING, IChatRoom, NotSentError
from netlab.chat.names import NAME, reserved
from netlab.monitor import KICK
from netlab.text import scrub

#: /who lists at most this many names (and says how many more there are).
WHO_LIMIT = 200

#: Everyone's commands, as /help lists them.
HELP = [
    "* Type a line to say it to everyone. Commands:",
    "*   /nick NAME      change your name (1-24 letters, digits, _ or -)",
    "*   /who            who is in the room",
    "*   /me ACTION      tell the room what you are doing",
    "*   /msg NAME TEXT  say something to one person only",
    "*   /quit           leave",
    "*   /help           this list",
    "*   //TEXT          say a line that starts with /",
]

#: The operator console's commands, listed after everyone's.
OPERATOR_HELP = [
    "*   /kick NAME      throw someone out (console only)",
    "*   /wall TEXT      an announcement to everyone (console only)",
]


def shown(text: str) -> str:
    """
    Something a client typed, made safe and short enough to quote back.
    """
    return scrub(text)[:32]


class ChatCommands:
    """
    C{/COMMAND ARGS} for a chat member: C{command_NAME(args)} handles C{/NAME}.
    """

    name: str | None
    room: IChatRoom
    isOperator = False

    def runCommand(self, text: str) -> None:
        """
        Run C{/COMMAND ARGS}.
        """
        command, _, args = text[1:].partition(" ")
        handler: Callable[[str], None] | None = getattr(self, "command_" + command.lower(), None)
        if handler is None:
            self.sendError(f"unknown command /{shown(command)} (try /help)")
            return
        try:
            handler(args.strip())
        except NotSentError as e:  # a member on another daemon, while the link is down
            self.sendError(str(e))

    def command_help(self, args: str) -> None:
        """
        List the commands.
        """
        self.sendLines(HELP + OPERATOR_HELP if self.isOperator else HELP)

    def command_nick(self, args: str) -> None:
        """
        Change name: unique, 1-24 letters, digits, C{_} or C{-}.
        """
        if not args:
            self.sendError("usage: /nick NAME")
        elif NAME.fullmatch(args) is None:
            self.sendError("a name is 1-24 letters, digits, _ or -")
        elif reserved(args) and not self.isOperator:
            self.sendError(f"the name {args} is reserved")
        else:
            problem = self.room.rename(self, args)
            if problem is None:
                self.renamed(args, None)
            elif problem != PENDING:  # (else the room says later)
                self.sendError(problem)

    def command_who(self, args: str) -> None:
        """
        Say who is in the room.
        """
        names = self.room.names()
        listed = ", ".join(names[:WHO_LIMIT])
        more = f" and {len(names) - WHO_LIMIT} more" if len(names) > WHO_LIMIT else ""
        self.sendMessage(f"* {len(names)} in the room: {listed}{more}")

    def command_me(self, args: str) -> None:
        """
        Relay an action: C{* <NAME> ACTION}.  The name in brackets sets it
        apart from the server's own notices (C{* NAME has left}), whose name
        never is: C{/me has left} cannot pass for one.
        """
        action = scrub(args)
        if not action.strip():
            self.sendError("usage: /me ACTION")
        else:
            self.room.broadcast(f"* <{self.name}> {action}", exclude=self)

    def command_msg(self, args: str) -> None:
        """
        Send a private message to one person.
        """
        name, _, text = args.partition(" ")
        text = scrub(text)
        if not name or not text.strip():
            self.sendError("usage: /msg NAME TEXT")
            return
        target = self.room.find(name, self)
        if target is None:
            self.sendError(f"no one called {shown(name)} is here")
        else:
            target.sendMessage(f"[private] <{self.name}> {text}")
            self.sendMessage(f"[private to {target.name}] {text}")

    def command_quit(self, args: str) -> None:
        """
        Leave the room.
        """
        self.sendMessage("* Bye!")
        self.close()

    def command_kick(self, args: str) -> None:
        """
        The operator throws someone out, telling them and the room.
        """
        if not self.isOperator:
            self.sendError("/kick is only for the operator console")
            return
        target = self.room.find(args, self) if args else None
        if not args:
            self.sendError("usage: /kick NAME")
        elif target is None:
            self.sendError(f"no one called {shown(args)} is here")
        elif target is self:
            self.sendError("the console cannot kick itself (use /quit)")
        else:
            target.reportLimit(f"kicked by {self.name}", KICK)
            target.sendError(f"you were kicked by {self.name}")
            target.close(f"kicked by {self.name}")

    def command_wall(self, args: str) -> None:
        """
        The operator announces something to everyone.
        """
        if not self.isOperator:
            self.sendError("/wall is only for the operator console")
            return
        text = scrub(args)
        if not text.strip():
            self.sendError("usage: /wall TEXT")
        else:
            self.room.broadcast(f"*** {self.name}: {text}", exclude=self)
