"""
System tests of issue 11: the lecture's own programs (C{tests/course/}, run
unchanged), telnet-style clients and a real C{telnet}, together against the
real daemon.

The lecture's clients are lockstep: one C{recv(1024)} for the welcome, then
for each message C{send} (no newline) and one C{recv(1024)}, decoded as ASCII.
Every wait here is bounded; no test sleeps to pass.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netlab.chat import HINT
from netlab.doctor import Doctor
from netlab.lockstep import REPLY_LIMIT, asciiText
from tests.daemon import Daemon
from tests.faults import NO_CHAT_LIMITS
from tests.test_chat_system import Peer

COURSE = Path(__file__).parent / "course"

#: A guard against hanging tests, not a performance expectation.
DEADLINE = 30.0

#: The lines said before the course's clients arrive: more than 1,024 bytes,
#: none of it ASCII-only.
HISTORY = [
    f"{n:02d} café notes for the lab on Tuesday ☃: bring a laptop, a charger — Zoë"
    for n in range(20)
]


def readPrompt(fd: int, stderr, timeout: float = DEADLINE) -> bytes:
    """
    Read what a course client prints until it waits at its C{> } prompt (or
    ends); return it without the prompt.
    """
    data, deadline = b"", time.monotonic() + timeout
    while not (data == b"> " or data.endswith(b"\n> ")):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no prompt; printed {data[-2000:]!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"client ended: {data[-2000:]!r}; stderr: {stderr.read()!r}")
        data += chunk
    return data[:-2]


class CourseClient:
    """
    One of the lecture's programs, run unchanged, driven through pipes.

    @ivar printed: everything it printed so far.
    """

    def __init__(self, test: SynchronousTestCase, port: int, script: str = "chat_client.py"):
        self.process = subprocess.Popen(
            [sys.executable, str(COURSE / script), "127.0.0.1", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        test.addCleanup(self.close)
        self.printed = b""
        self.welcome = self.read()
        self.name = re.search(r"\* You are (\S+)\.", self.welcome).group(1)

    def read(self) -> str:
        data = readPrompt(self.process.stdout.fileno(), self.process.stderr)
        self.printed += data + b"> "
        return data.decode("ascii")

    def say(self, message: str) -> str:
        """
        Type C{message}; return what the client printed in answer.
        """
        self.process.stdin.write(message.encode("ascii") + b"\n")
        self.process.stdin.flush()
        return self.read()

    def finish(self) -> tuple[int, bytes]:
        """
        Type an empty message (the client ends); its status and error output.
        """
        self.process.stdin.write(b"\n")
        self.process.stdin.close()
        status = self.process.wait(DEADLINE)
        self.printed += self.process.stdout.read()
        return status, self.process.stderr.read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if not stream.closed:
                stream.close()


class CourseChatTests(SynchronousTestCase):
    """
    The lecture's chat client in a real room.
    """

    def setUp(self) -> None:
        self.daemon = Daemon.start(["--chat", "{port}", *NO_CHAT_LIMITS, "--max-per-peer", "0"])
        self.addCleanup(self.daemon.close)

    def lineClient(self, nick: str | None = None) -> Peer:
        """
        A telnet-style client (C{\\r\\n} lines), past its welcome.
        """
        sock = self.daemon.connect("chat", timeout=DEADLINE)
        self.addCleanup(sock.close)
        peer = Peer(sock)
        peer.name = re.search(rb"\* You are (\S+)\.", peer.joined()).group(1).decode()
        if nick:
            peer.send(b"/nick " + nick.encode() + b"\r\n")
            peer.until(b"* You are now " + nick.encode() + b".\r\n")
        return peer

    def course(self) -> CourseClient:
        return CourseClient(self, self.daemon.port("chat"))

    def assertClean(self, client: CourseClient) -> None:
        """
        It ended normally, printing no stray carriage return and no blank line.
        """
        status, errors = client.finish()
        self.assertEqual((status, errors), (0, b""))
        self.assertNotIn(b"\r", client.printed)
        self.assertNotIn(b"\n\n", client.printed)

    def test_busyRoom(self) -> None:
        """
        Two course clients and two telnet-style clients in a room with more
        than 1,024 bytes of non-ASCII history: each course client gets a whole
        welcome (newest history kept, marked) and, for each message, one reply
        of whole lines holding what was said since, transliterated; the
        telnet-style clients get everything as UTF-8 lines.
        """
        ann = self.lineClient("ann")
        for line in HISTORY:
            ann.send(line.encode() + b"\r\n")
        ann.send(b"/who\r\n")
        ann.until(b"in the room: ")  # the daemon has taken every line before it
        self.assertGreater(sum(len(line.encode()) + 7 for line in HISTORY), REPLY_LIMIT)
        first = self.course()
        welcome = first.welcome.split("\n")
        self.assertLessEqual(len(first.welcome), REPLY_LIMIT)
        self.assertEqual(
            welcome[:3],
            [
                "Welcome to my chat room!",
                f"* You are {first.name}. {HINT}",
                "* last 20 messages:",
            ],
        )
        shown = welcome[4:-1]  # after "* N earlier lines not shown"; the last is print's
        self.assertEqual(welcome[3], f"* {20 - len(shown)} earlier lines not shown")
        self.assertEqual(shown, [f"<ann> {asciiText(line)}" for line in HISTORY[-len(shown) :]])
        bob = self.lineClient()
        second = self.course()
        ann.send("hi course client\r\nhow are you\r\n/me waves\r\nZoë says ça va? 😀\r\n".encode())
        said = "<ann> hi course client\n<ann> how are you\n* <ann> waves\n<ann> Zoe says ca va? ?\n"
        # (Once bob has them, the room has taken them all.)
        self.assertIn("<ann> Zoë says ça va? 😀\r\n".encode(), bob.until("😀\r\n".encode()))
        joins = f"* {bob.name} has joined\n* {second.name} has joined\n"
        self.assertEqual(first.say("hello"), joins + said)
        for peer in (ann, bob):
            self.assertIn(f"<{first.name}> hello\r\n".encode(), peer.until(b"> hello\r\n"))
        self.assertEqual(second.say("hi all"), said + f"<{first.name}> hello\n")
        self.assertEqual(first.say("anyone?"), f"<{second.name}> hi all\n")

        # More than one reply can hold: the newest lines, whole, and a count.
        ann.send(b"".join(b"flood line %d with some words\r\n" % n for n in range(60)))
        bob.until(b"line 59 with some words\r\n")
        reply = first.say("what did I miss?")
        self.assertLessEqual(len(reply) - 1, REPLY_LIMIT)
        notice, *kept, end = reply.split("\n")
        self.assertEqual(end, "")
        self.assertEqual(kept[-1], "<ann> flood line 59 with some words")
        self.assertEqual(notice, f"* {60 - len(kept)} earlier lines not shown")
        for index, line in enumerate(kept):
            self.assertEqual(line, f"<ann> flood line {60 - len(kept) + index} with some words")
        for client in (first, second):
            self.assertClean(client)
        self.daemon.assertCleanLog()

    def test_alone(self) -> None:
        """
        Alone in the room, the course client's message is answered at once.
        """
        result = subprocess.run(
            [
                sys.executable,
                str(COURSE / "chat_client.py"),
                "127.0.0.1",
                str(self.daemon.port("chat")),
            ],
            input=b"Hello, is anyone there?\n\n",
            capture_output=True,
            timeout=DEADLINE,
        )
        self.assertEqual((result.returncode, result.stderr), (0, b""))
        self.assertRegex(
            result.stdout.decode("ascii"),
            r"^Welcome to my chat room!\n\* You are guest-\d+\. "
            + re.escape(HINT)
            + r"\n"
            r"> \* nobody else is here yet\n> $",
        )

    def test_twoCourseClients(self) -> None:
        """
        Two course clients talk to each other: each reply is what the other
        said since, never one step behind.
        """
        first = self.course()
        second = self.course()
        one, two = first.name, second.name
        self.assertEqual(first.say("hi, second"), f"* {two} has joined\n")
        self.assertEqual(second.say("hi, first"), f"<{one}> hi, second\n")
        self.assertEqual(first.say("how are you?"), f"<{two}> hi, first\n")
        self.assertEqual(second.say("fine, and you?"), f"<{one}> how are you?\n")
        self.assertEqual(second.say("hello?"), "* (no new messages)\n")
        self.assertEqual(
            first.say(f"/msg {two} psst"),
            f"<{two}> fine, and you?\n<{two}> hello?\n[private to {two}] psst\n",
        )
        self.assertEqual(
            second.say("/who"), f"[private] <{one}> psst\n* 2 in the room: {one}, {two}\n"
        )
        for client in (first, second):
            self.assertClean(client)
        self.daemon.assertCleanLog()


def readTerminal(fd: int, marker: bytes, timeout: float = DEADLINE) -> bytes:
    """
    Read a terminal until C{marker} shows (or fail after C{timeout}).
    """
    data, deadline = b"", time.monotonic() + timeout
    while marker not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"{marker!r} not shown; the screen: {data[-2000:]!r}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed
            chunk = b""
        if not chunk:
            raise AssertionError(f"{marker!r} not shown before the end: {data[-2000:]!r}")
        data += chunk
    return data


class TelnetTests(SynchronousTestCase):
    """
    A real C{telnet}, in a terminal of its own, pressing Ctrl-C, Ctrl-Z and
    Ctrl-\\: the Doctor's replies still show.
    """

    def setUp(self) -> None:
        if shutil.which("telnet") is None:
            self.skipTest("telnet is not installed (apt-get install telnet)")
        self.daemon = Daemon.start(["--doctor", "{port}"])
        self.addCleanup(self.daemon.close)

    def telnet(self) -> int:
        """
        Start C{telnet} to the Doctor on a new terminal (its controlling one, so
        that Ctrl-C reaches it as a signal, as at a keyboard); return the
        terminal's other side.
        """
        main, terminal = pty.openpty()
        self.addCleanup(os.close, main)
        process = subprocess.Popen(
            ["telnet", "127.0.0.1", str(self.daemon.port("doctor"))],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(terminal)

        def stop() -> None:
            process.kill()
            process.wait()

        self.addCleanup(stop)
        return main

    def test_keysThenReplies(self) -> None:
        """
        After Ctrl-C (IAC IP, IAC DO TIMING-MARK), Ctrl-Z and Ctrl-\\, telnet
        still shows every reply: the timing mark is answered.
        """
        doctor = Doctor()
        screen = self.telnet()
        readTerminal(screen, doctor.greeting().encode())
        exchanges = [
            ("I feel sad", None),
            ("I need help", b"\x03"),  # Ctrl-C
            ("My mother hates me", b"\x1a"),  # Ctrl-Z
            ("You are like my father", b"\x1c"),  # Ctrl-\
            ("I am unhappy", b"\x03"),
        ]
        for message, key in exchanges:
            if key is not None:
                os.write(screen, key)
                readTerminal(screen, b"^")  # the terminal echoes ^C, ^Z, ^\
            os.write(screen, message.encode() + b"\n")
            readTerminal(screen, doctor.reply(message).encode())
        self.daemon.assertCleanLog()
