"""
System tests: the real daemon serving the Doctor over real sockets.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import Doctor
from tests.daemon import Daemon, recvAll, recvUntil, run

COURSE = Path(__file__).parent / "course"


class DoctorSystemTests(SynchronousTestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon.start(["--doctor", "{port}"])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def expected(self, *messages):
        """
        What a fresh Doctor says: the greeting, then a reply per message.
        """
        doctor = Doctor()
        return [doctor.greeting()] + [doctor.reply(message) for message in messages]

    def test_lineClient(self):
        """
        A line-mode client (telnet-style C{\\r\\n}) gets the greeting and exactly
        one reply per line, then the farewell and a clean close.  (The greeting
        has no line end until the client shows it is a line client: an empty
        line, as a telnet user pressing Enter, does that.)
        """
        messages = ["I am unhappy.", "My mother takes care of me.", "You are like my father."]
        with self.daemon.connect("doctor") as sock:
            sock.sendall(b"\r\n")
            greeting = recvUntil(sock, b"\r\n")
            sock.sendall("".join(m + "\r\n" for m in messages).encode() + b"bye\r\n")
            rest = recvAll(sock)
        lines = (greeting + rest).decode().split("\r\n")
        self.assertEqual(lines, self.expected(*messages) + ["Have a nice day!", ""])

    def test_courseClient(self):
        """
        The course's blocking client (bare messages, one recv(1024) each) sees
        the greeting and each reply exactly as the lecture shows: no stray
        carriage return, no blank line after the greeting.
        """
        messages = ["Men are all alike.", "They're always bugging us about something."]
        result = subprocess.run(
            [
                sys.executable,
                str(COURSE / "doctor_client.py"),
                "127.0.0.1",
                str(self.daemon.port("doctor")),
            ],
            input="\n".join(messages) + "\n\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        greeting, *replies = self.expected(*messages)
        self.assertEqual(
            result.stdout, f"{greeting}\n" + "".join(f"> {reply}\n" for reply in replies) + "> "
        )

    def test_nc(self):
        """
        C{nc} (C{\\n} lines, half-close at end of input) gets every reply.
        """
        if shutil.which("nc") is None:
            self.skipTest("nc is not installed")
        result = subprocess.run(
            ["nc", "-N", "127.0.0.1", str(self.daemon.port("doctor"))],
            input="I feel sad\nI need help",
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(
            result.stdout.replace("\r\n", "\n").splitlines(),
            self.expected("I feel sad", "I need help"),
        )


class DoctorScriptSystemTests(SynchronousTestCase):
    def test_customScript(self):
        with tempfile.NamedTemporaryFile("w", suffix=".script") as script:
            script.write(
                "(GOOD DAY)\nSTART\n(NONE ((0) (TELL ME MORE)))\n"
                "(MY ((0 MY 0) (YOUR 3)))\n"
                "(MEMORY MY (0 MY 0 = A 3) (0 MY 0 = B 3) (0 MY 0 = C 3) (0 MY 0 = D 3))\n"
            )
            script.flush()
            with Daemon.start(["--doctor", "{port}", "--doctor-script", script.name]) as daemon:
                with daemon.connect("doctor") as sock:
                    sock.sendall(b"hello\nbye\n")
                    data = recvAll(sock)
        self.assertEqual(data, b"Good day.\nTell me more.\nHave a nice day!\n")

    def test_badScript(self):
        """
        An invalid script stops the daemon with one line naming the file and line.
        """
        with tempfile.NamedTemporaryFile("w", suffix=".script") as script:
            script.write("(HELLO)\nSTART\n(SAD ((0 SAD 0) (WHY 9)))\n")
            script.flush()
            result = run(["--doctor", "0", "--doctor-script", script.name])
        self.assertNotEqual(result.returncode, 0)
        output = result.stdout + result.stderr
        self.assertNotIn("Traceback", output)
        self.assertEqual(len(output.strip().splitlines()), 1, output)
        self.assertIn("--doctor-script", output)
        self.assertIn(":3:", output)
