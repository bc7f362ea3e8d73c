"""
System tests: the real C{netlab} command against the real daemon.

Each test runs the installed console script (or C{python -m netlab.client} when the script is not
next to the interpreter) in a subprocess: through pipes for the scriptable mode, through a
pseudo-terminal for the interactive mode.  Failures are provoked with loopback-only helpers: a free
port nobody listens on, a reserved C{.invalid} host name, a listener that accepts and never answers,
a plain TCP port spoken to with TLS, and a tiny server that sends invalid UTF-8.

Timeouts in here are guards against a hanging test, never something a test waits out to pass --
except the client's own C{--timeout}, kept short, which is what the timeout tests are about.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import Doctor
from tests.daemon import Daemon, freePort, waitForPort

#: Guard for a client run that should finish promptly.
GUARD = 20.0
CTIME = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$")
ERASE = "\r\x1b[J"


def netlabCommand() -> list[str]:
    """
    The C{netlab} console script of the Python running the tests.

    @return: its command line: the script, or C{python -m netlab.client} when the
        script is not next to the interpreter.
    """
    script = Path(sys.executable).with_name("netlab")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "netlab.client"]


def runClient(
    *args: str, stdin: bytes = b"", timeout: float = GUARD
) -> subprocess.CompletedProcess:
    """
    Run C{netlab ARGS} with C{stdin} piped in.

    @param args: the client's arguments.
    @param stdin: what the client reads.
    @param timeout: the guard against a hanging client, in seconds.
    @return: the finished process (bytes output).
    """
    return subprocess.run(
        [*netlabCommand(), *args], input=stdin, capture_output=True, timeout=timeout
    )


def ipv6Available() -> bool:
    """
    Whether this machine can listen on C{::1}.
    """
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class OutputReader:
    """
    Collects a file descriptor's output and waits, with a bound, for expected text.

    @ivar fd: the file descriptor read.
    @ivar data: everything read so far.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = b""

    def readAvailable(self, wait: float) -> str:
        """
        Read whatever arrives within C{wait} seconds.

        @return: C{"data"}, C{"nothing"}, or C{"closed"}.
        """
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return "nothing"
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the pty's other side is closed
            return "closed"
        self.data += chunk
        return "data" if chunk else "closed"

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    def expect(self, needle: str, timeout: float = GUARD) -> str:
        """
        Wait until C{needle} has appeared.

        @param timeout: the longest to wait, in seconds.
        @return: everything read so far.
        @raise AssertionError: with everything read so far, if C{needle} does not appear.
        """
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.readAvailable(min(remaining, 0.5)) == "closed":
                if needle in self.text():
                    break
                raise AssertionError(f"{needle!r} did not appear; got {self.text()!r}")
        return self.text()


class PipeClient:
    """
    A long-running C{netlab} with its stdin kept open (a participant in the chat room).
    """

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*netlabCommand(), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.out = OutputReader(self.process.stdout.fileno())

    def send(self, line: str) -> None:
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def finish(self) -> tuple[int, str, str]:
        """
        Close stdin and wait for the exit.

        @return: the exit status, all stdout, and stderr.
        """
        self.process.stdin.close()
        try:
            status = self.process.wait(GUARD)
        finally:
            self.kill()
        rest = self.process.stdout.read()
        stderr = self.process.stderr.read().decode("utf-8", "replace")
        self.process.stdout.close()
        self.process.stderr.close()
        return status, (self.out.data + rest).decode("utf-8", "replace"), stderr

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class PtyClient:
    """
    C{netlab} on a pseudo-terminal, as a person would run it.
    """

    def __init__(self, *args: str, columns: int = 80) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        self.original = termios.tcgetattr(self.slave)
        self.process = subprocess.Popen(
            [*netlabCommand(), *args],
            stdin=self.slave,
            stdout=self.slave,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.screen = OutputReader(self.master)

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, needle: str) -> str:
        return self.screen.expect(needle)

    def wait(self) -> tuple[int, str]:
        """
        Wait for the exit.

        @return: the exit status and stderr.
        """
        try:
            status = self.process.wait(GUARD)
        except subprocess.TimeoutExpired:
            self.close()
            raise
        stderr = self.process.stderr.read().decode("utf-8", "replace")
        while self.screen.readAvailable(0) == "data":
            pass
        return status, stderr

    def terminalRestored(self) -> bool:
        """
        Whether the client left the terminal as it found it (echo, canonical mode, blocking).
        """
        return termios.tcgetattr(self.slave) == self.original and os.get_blocking(self.slave)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()
        os.close(self.master)
        os.close(self.slave)


class SilentServer:
    """
    A loopback listener that completes TCP handshakes (the kernel does) but never says a word.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class OneShotServer:
    """
    A loopback server that sends C{payload} to each connection and closes it.
    """

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(GUARD)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.sendall(self.payload)

    def close(self) -> None:
        self.sock.close()
        self.thread.join(GUARD)


class ClientAgainstDaemonTests(SynchronousTestCase):
    """
    Every command through pipes and a pseudo-terminal, against one daemon.
    """

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon.start(
            [
                "--daytime",
                "{port}",
                "--daytime-udp",
                "{port}",
                "--doctor",
                "{port}",
                "--chat",
                "{port}",
                "--chat-history",
                "0",
            ]
        )

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def port(self, service: str) -> str:
        return str(self.daemon.port(service))

    def assertClean(self, result: subprocess.CompletedProcess) -> None:
        """
        Exit 0 and nothing on stderr.
        """
        self.assertEqual(
            (result.returncode, result.stderr.decode("utf-8", "replace")),
            (0, ""),
            result.stdout,
        )

    # -- daytime ------------------------------------------------------------------------------

    def test_daytimeTCP(self):
        """
        C{netlab daytime} prints the date and the farewell and exits 0.
        """
        result = runClient("daytime", "127.0.0.1", "-p", self.port("daytime"))
        self.assertClean(result)
        stamp, farewell, end = result.stdout.decode().split("\n")
        self.assertRegex(stamp, CTIME)
        self.assertEqual((farewell, end), ("Have a nice day!", ""))

    def test_daytimeHostName(self):
        """
        The default host name C{localhost} resolves and connects.
        """
        result = runClient("daytime", "-p", self.port("daytime"))
        self.assertClean(result)
        self.assertTrue(result.stdout.decode().endswith("Have a nice day!\n"))

    def test_daytimeUDP(self):
        """
        C{--udp}: one datagram each way, the same text.
        """
        result = runClient("daytime", "127.0.0.1", "-p", self.port("daytime-udp"), "--udp")
        self.assertClean(result)
        stamp, farewell, end = result.stdout.decode().split("\n")
        self.assertRegex(stamp, CTIME)
        self.assertEqual(farewell, "Have a nice day!")

    def test_daytimeConnectString(self):
        """
        C{--connect tcp:host=...:port=...} instead of HOST/PORT.
        """
        result = runClient(
            "daytime", "--connect", f"tcp:host=127.0.0.1:port={self.port('daytime')}"
        )
        self.assertClean(result)
        self.assertIn("Have a nice day!", result.stdout.decode())

    # -- doctor -------------------------------------------------------------------------------

    def test_doctorPipe(self):
        """
        C{printf 'I feel sad\\n' | netlab doctor}: greeting and reply, then exit 0.
        """
        result = runClient("doctor", "127.0.0.1", "-p", self.port("doctor"), stdin=b"I feel sad\n")
        self.assertClean(result)
        doctor = Doctor()
        expected = [doctor.greeting(), doctor.reply("I feel sad"), ""]
        self.assertEqual(result.stdout.decode().split("\n"), expected)

    def test_doctorPipeSeveralLines(self):
        """
        Several lines, a blank one skipped, the last without newline: one reply each.
        """
        messages = ["I am unhappy.", "My mother takes care of me.", "You are like my father"]
        stdin = f"{messages[0]}\n\n{messages[1]}\r\n{messages[2]}".encode()
        result = runClient("doctor", "127.0.0.1", "-p", self.port("doctor"), stdin=stdin)
        self.assertClean(result)
        doctor = Doctor()
        expected = [doctor.greeting()] + [doctor.reply(m) for m in messages] + [""]
        self.assertEqual(result.stdout.decode().split("\n"), expected)

    def test_doctorByeServerCloses(self):
        """
        A piped C{bye}: the farewell, then the server closes: exit 0 with a one-line notice.
        """
        result = runClient(
            "doctor", "127.0.0.1", "-p", self.port("doctor"), stdin=b"bye\nignored by then\n"
        )
        self.assertEqual(result.returncode, 0)
        self.assertTrue(result.stdout.decode().endswith("Have a nice day!\n"))
        self.assertEqual(result.stderr.decode(), "Connection closed by server.\n")

    def test_doctorEmptyInput(self):
        """
        No input at all: the greeting is still printed, then exit 0.
        """
        result = runClient("doctor", "127.0.0.1", "-p", self.port("doctor"))
        self.assertClean(result)
        self.assertEqual(result.stdout.decode(), Doctor().greeting() + "\n")

    # -- chat ---------------------------------------------------------------------------------

    def test_chatTwoClients(self):
        """
        Two chat clients through pipes: one's line reaches the other; both exit 0.
        """
        alice = PipeClient("chat", "127.0.0.1", "-p", self.port("chat"), "--nick", "alice_p")
        self.addCleanup(alice.kill)
        alice.out.expect("alice_p")  # the server confirmed the nick: alice is in the room
        bob = runClient(
            "chat",
            "127.0.0.1",
            "-p",
            self.port("chat"),
            "--nick",
            "bob_p",
            stdin="hello from bob \u2713\n/who\n".encode(),
        )
        self.assertClean(bob)
        bobOut = bob.stdout.decode()
        self.assertIn("Welcome to my chat room!", bobOut)
        self.assertIn("alice_p", bobOut.split("\n", 3)[-1])  # /who lists alice
        alice.out.expect("<bob_p> hello from bob \u2713")
        alice.send("bye bob")
        status, out, err = alice.finish()
        self.assertEqual((status, err), (0, ""))
        self.assertIn("* bob_p has left", out)

    def test_chatUNIXSocket(self):
        """
        C{--connect unix:path=...} reaches a chat service on a UNIX socket.
        """
        with Daemon.start(["--chat", "unix:{tmp}/chat.sock"], wait=False) as daemon:
            path = Path(daemon._tmp.name) / "chat.sock"
            deadline = time.monotonic() + GUARD
            while not path.exists() and daemon.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            result = runClient("chat", "--connect", f"unix:path={path}", stdin=b"/who\n")
        self.assertClean(result)
        self.assertIn("Welcome to my chat room!", result.stdout.decode())

    # -- interactive --------------------------------------------------------------------------

    def pty(self, *args: str) -> PtyClient:
        client = PtyClient(*args)
        self.addCleanup(client.close)
        return client

    def test_interactiveRedraw(self):
        """
        A chat line arriving while the user types is printed above; prompt and input redrawn.
        """
        carol = self.pty("chat", "127.0.0.1", "-p", self.port("chat"), "--nick", "carol_t")
        carol.expect("carol_t")
        carol.type(b"half-typ")
        carol.expect("> half-typ")
        sent = runClient(
            "chat", "127.0.0.1", "-p", self.port("chat"), "--nick", "dave_t", stdin=b"hi carol\n"
        )
        self.assertClean(sent)
        screen = carol.expect("<dave_t> hi carol")
        self.assertIn(ERASE + "<dave_t> hi carol\r\n> half-typ", screen)
        carol.type(b"ed\r")
        carol.expect("> half-typed\r\n> ")
        carol.type(b"\r")  # the empty line leaves
        status, stderr = carol.wait()
        self.assertEqual((status, stderr), (0, ""))
        self.assertTrue(carol.terminalRestored())

    def test_interactiveTypedLineDelivered(self):
        """
        What the user types and sends with Enter reaches the others.
        """
        erin = PipeClient("chat", "127.0.0.1", "-p", self.port("chat"), "--nick", "erin_t")
        self.addCleanup(erin.kill)
        erin.out.expect("erin_t")
        frank = self.pty("chat", "127.0.0.1", "-p", self.port("chat"), "--nick", "frank_t")
        frank.expect("frank_t")
        frank.type(b"typo\x7f\x7f\x7f\x7fhello erin\r")
        erin.out.expect("<frank_t> hello erin")
        frank.type(b"\x04")  # Ctrl-D leaves politely
        status, stderr = frank.wait()
        self.assertEqual((status, stderr), (0, ""))
        self.assertTrue(frank.terminalRestored())
        erin.out.expect("* frank_t has left")

    def test_interactiveDoctorCtrlD(self):
        """
        Doctor at a terminal: a reply per line; Ctrl-D says bye and shows the farewell.
        """
        doctor = Doctor()
        client = self.pty("doctor", "127.0.0.1", "-p", self.port("doctor"))
        client.expect(doctor.greeting())
        client.type(b"I feel sad\r")
        client.expect(doctor.reply("I feel sad"))
        client.type(b"\x04")
        client.expect("Have a nice day!")
        status, stderr = client.wait()
        self.assertEqual((status, stderr), (0, ""))
        self.assertTrue(client.terminalRestored())

    def test_interactiveCtrlC(self):
        """
        Ctrl-C leaves at once with status 130 and a restored terminal.
        """
        client = self.pty("chat", "127.0.0.1", "-p", self.port("chat"))
        client.expect("Welcome to my chat room!")
        client.type(b"unfinished\x03")
        status, stderr = client.wait()
        self.assertEqual((status, stderr), (130, ""))
        self.assertTrue(client.terminalRestored())

    def test_interactiveServerCloses(self):
        """
        The server closing the connection: exit 0, one-line notice, terminal restored.
        """
        doctor = Doctor()
        client = self.pty("doctor", "127.0.0.1", "-p", self.port("doctor"))
        client.expect(doctor.greeting())
        client.type(b"goodbye\r")
        client.expect("Have a nice day!")
        status, stderr = client.wait()
        self.assertEqual((status, stderr), (0, "Connection closed by server.\n"))
        self.assertTrue(client.terminalRestored())

    def test_sigintWhilePiped(self):
        """
        SIGINT to a piped client (Ctrl-C in the shell) ends it at once with status 130.
        """
        client = PipeClient("chat", "127.0.0.1", "-p", self.port("chat"))
        self.addCleanup(client.kill)
        client.out.expect("Welcome to my chat room!")
        client.process.send_signal(signal.SIGINT)
        status = client.process.wait(GUARD)
        self.assertEqual(status, 130)

    # -- failures -----------------------------------------------------------------------------

    def assertFailure(self, result: subprocess.CompletedProcess, message: str) -> None:
        """
        Non-zero exit; exactly one line on stderr, containing C{message}; no traceback.

        @param result: the finished client.
        @param message: what its one line of stderr must contain.
        """
        stderr = result.stderr.decode("utf-8", "replace")
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(stderr.count("\n"), 1, stderr)
        self.assertIn(message, stderr)
        self.assertNotIn("Traceback", stderr)

    def test_refused(self):
        """
        Nobody listening: connection refused, for every command.
        """
        port = str(freePort())
        for command in (["daytime"], ["chat"], ["doctor"]):
            result = runClient(*command, "127.0.0.1", "-p", port)
            self.assertFailure(result, f"netlab: connection refused by 127.0.0.1 port {port}")

    def test_refusedUDP(self):
        """
        Nobody listening on the UDP port: refused (ICMP port unreachable).
        """
        port = str(freePort(socket.SOCK_DGRAM))
        result = runClient("daytime", "127.0.0.1", "-p", port, "--udp", "--timeout", "5")
        self.assertFailure(result, "connection refused")

    def test_unknownHost(self):
        """
        A name that cannot resolve (RFC 6761 reserves .invalid).
        """
        result = runClient("chat", "no-such-host.invalid")
        self.assertFailure(result, "netlab: unknown host no-such-host.invalid")

    def test_daytimeTimeout(self):
        """
        A server that accepts but never answers: daytime gives up after --timeout.
        """
        server = SilentServer()
        self.addCleanup(server.close)
        result = runClient("daytime", "127.0.0.1", "-p", str(server.port), "--timeout", "0.5")
        self.assertFailure(result, "netlab: timed out after 0.5 s waiting for the answer of")

    def test_tlsHandshakeTimeout(self):
        """
        TLS to a server that never answers: the handshake is bounded by --timeout too.
        """
        server = SilentServer()
        self.addCleanup(server.close)
        result = runClient("chat", "--connect", f"tls:127.0.0.1:{server.port}", "--timeout", "0.5")
        self.assertFailure(result, "timed out after 0.5 s connecting to")

    def test_tlsToPlainPort(self):
        """
        TLS spoken to a plain TCP service: a TLS failure, for a stream and a conversation.
        """
        for command, service in (("daytime", "daytime"), ("chat", "chat"), ("doctor", "doctor")):
            result = runClient(command, "--connect", f"tls:127.0.0.1:{self.port(service)}")
            self.assertFailure(result, "netlab: TLS failure with tls:127.0.0.1:")

    def test_invalidUTF8AndEscapes(self):
        """
        Invalid UTF-8 is shown with replacement characters, escapes are stripped, exit 0.
        """
        server = OneShotServer(b"caf\xe9 \xff\x1b[2J\x1b]0;owned\x07ok\r\nsecond")
        self.addCleanup(server.close)
        result = runClient("daytime", "127.0.0.1", "-p", str(server.port))
        self.assertClean(result)
        self.assertEqual(result.stdout.decode("utf-8"), "caf\ufffd \ufffdok\nsecond\n")

    def test_usageErrors(self):
        """
        Bad options: status 2 and a usage message, no traceback.
        """
        result = runClient("chat", "somehost", "--connect", "tcp:host=x:port=1")
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"--connect replaces HOST", result.stderr)
        result = runClient("chat", "--connect", "bogus:1")
        self.assertFailure(result, "netlab: invalid endpoint 'bogus:1'")
        self.assertEqual(result.returncode, 2)

    def test_helpAndVersion(self):
        """
        C{--help} documents the commands; C{--version} prints the version.
        """
        result = runClient("--help")
        self.assertClean(result)
        for word in (b"daytime", b"chat", b"doctor", b"--connect"):
            self.assertIn(word, result.stdout)
        for command in ("daytime", "chat", "doctor"):
            self.assertClean(runClient(command, "--help"))
        result = runClient("--version")
        self.assertClean(result)
        self.assertRegex(result.stdout.decode(), r"^netlab \d+\.\d+")


class StandardInputTests(SynchronousTestCase):
    """
    C{netlab doctor} with standard input that is not a pipe or a terminal -- closed, C{/dev/null},
    a regular file -- while another session talks to the same daemon: the client sends only what
    the user gave it, so it prints the greeting and one answer per line given, and nothing else.
    """

    #: How many times each case is run: a mix-up of descriptors may depend on timing.
    RUNS = 10

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon.start(["--doctor", "{port}"])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def setUp(self):
        self.other = self.daemon.connect("doctor")
        self.addCleanup(self.other.close)
        self.other.settimeout(GUARD)
        self.talk()

    def talk(self) -> None:
        """
        The other session says something and reads what comes back, so it is active throughout.
        """
        self.other.sendall(b"I feel sad\n")
        self.assertTrue(self.other.recv(4096))

    def runDoctor(self, *shell: str) -> subprocess.CompletedProcess:
        """
        Run C{netlab doctor} through C{/bin/sh} with the redirections C{shell}.
        """
        command = [*netlabCommand(), "doctor", "127.0.0.1", "-p", str(self.daemon.port("doctor"))]
        return subprocess.run(
            ["/bin/sh", "-c", f'exec "$@" {" ".join(shell)}', "sh", *command],
            capture_output=True,
            timeout=GUARD,
        )

    def assertOnlyAnswers(self, redirection: str, messages: list[str]) -> None:
        """
        C{RUNS} times: the greeting and one answer per message, exit 0, nothing on stderr.
        """
        doctor = Doctor()
        expected = [doctor.greeting(), *(doctor.reply(m) for m in messages), ""]
        for run in range(self.RUNS):
            result = self.runDoctor(redirection)
            self.talk()
            self.assertEqual(
                (result.returncode, result.stderr.decode("utf-8", "replace")),
                (0, ""),
                f"run {run}: {result.stdout!r}",
            )
            self.assertEqual(result.stdout.decode().split("\n"), expected, f"run {run}")

    def test_stdinClosed(self):
        """
        C{<&-}: descriptor 0 would go to the reactor's first descriptor, which StandardIO would
        then take for standard input; the client keeps it for an empty pipe instead.
        """
        self.assertOnlyAnswers("<&-", [])

    def test_devNull(self):
        """
        C{</dev/null}: no input, so only the greeting.
        """
        if not stat.S_ISCHR(os.stat(os.devnull).st_mode):
            # A regular file there holds whatever other programs wrote to "/dev/null", and the
            # client rightly sends it.
            self.skipTest(f"{os.devnull} is not a character device on this machine")
        self.assertOnlyAnswers(f"<{os.devnull}", [])

    def test_regularFile(self):
        """
        C{< lines.txt}: every line answered, then exit.
        """
        messages = ["I feel sad", "I am tired"]
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        path = Path(directory.name) / "lines.txt"
        path.write_text("".join(f"{m}\n" for m in messages))
        self.assertOnlyAnswers(f"<{path}", messages)


class IPv6Tests(SynchronousTestCase):
    """
    The client over IPv6 (C{::1}), where the machine has it.
    """

    def setUp(self):
        if not ipv6Available():
            self.skipTest("this machine cannot use IPv6 on ::1")
        port = freePort(host="::1")
        udp = freePort(socket.SOCK_DGRAM, host="::1")
        doctor = freePort(host="::1")
        self.daemon = Daemon.start(
            [
                "--daytime",
                f"tcp6:{port}:interface=\\:\\:1",
                "--daytime-udp",
                f"[::1]:{udp}",
                "--doctor",
                f"tcp6:{doctor}:interface=\\:\\:1",
            ],
            wait=False,
        )
        self.addCleanup(self.daemon.close)
        self.ports = {"daytime": port, "udp": udp, "doctor": doctor}
        for tcp in (port, doctor):
            waitForPort(tcp, host="::1")

    def test_daytime(self):
        result = runClient("daytime", "::1", "-p", str(self.ports["daytime"]))
        self.assertEqual((result.returncode, result.stderr), (0, b""))
        self.assertTrue(result.stdout.decode().endswith("Have a nice day!\n"))

    def test_doctorBracketed(self):
        result = runClient(
            "doctor", "[::1]", "-p", str(self.ports["doctor"]), stdin=b"I feel sad\n"
        )
        self.assertEqual((result.returncode, result.stderr), (0, b""))
        doctor = Doctor()
        self.assertEqual(
            result.stdout.decode().split("\n"), [doctor.greeting(), doctor.reply("I feel sad"), ""]
        )

    def test_daytimeUDP(self):
        result = runClient("daytime", "::1", "-p", str(self.ports["udp"]), "--udp")
        self.assertEqual((result.returncode, result.stderr), (0, b""), self.daemon.log())
        self.assertIn(b"Have a nice day!", result.stdout)


class ClientInLabModeTests(SynchronousTestCase):
    """
    The client in a pipe against a daemon run with C{--lab split=5}: the lab's notice comes first,
    and every line arrives in 5-byte pieces, 20 ms apart.
    """

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon.start(
            [
                "--doctor",
                "{port}",
                "--chat",
                "{port}",
                "--lab",
                "doctor:split=5",
                "--lab",
                "chat:split=5",
            ]
        )

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def port(self, service: str) -> str:
        return str(self.daemon.port(service))

    def test_doctorAnswersEveryLine(self):
        """
        Two lines piped to C{netlab doctor}: the notice, the greeting and both answers, exit 0.
        """
        messages = ["I feel sad", "I am tired"]
        stdin = "".join(f"{m}\n" for m in messages).encode()
        result = runClient("doctor", "127.0.0.1", "-p", self.port("doctor"), stdin=stdin)
        self.assertEqual((result.returncode, result.stderr), (0, b""), result.stdout)
        doctor = Doctor()
        expected = [
            "* lab mode: replies arrive in pieces of 5 bytes",
            doctor.greeting(),
            *(doctor.reply(m) for m in messages),
            "",
        ]
        self.assertEqual(result.stdout.decode().split("\n"), expected)
        self.daemon.assertCleanLog()

    def test_chatLongLineNotCutOff(self):
        """
        A room line too long to arrive within the client's C{--grace} (300 bytes take 1.2 s in
        5-byte pieces) still arrives whole, and so does everything after it, C{* Bye!} included.
        """
        long = "x" * 300
        said = runClient(
            "chat", "127.0.0.1", "-p", self.port("chat"), "--nick", "long",
            stdin=f"{long}\n".encode(),
        )
        self.assertEqual((said.returncode, said.stderr), (0, b""), said.stdout)
        result = runClient(
            "chat", "127.0.0.1", "-p", self.port("chat"), "--nick", "reader", stdin=b"/who\n"
        )
        self.assertEqual((result.returncode, result.stderr), (0, b""), result.stdout)
        lines = result.stdout.decode().split("\n")
        self.assertEqual(lines[0], "* lab mode: replies arrive in pieces of 5 bytes")
        self.assertIn(f"<long> {long}", lines)
        self.assertEqual(
            lines[-4:], ["* You are now reader.", "* 1 in the room: reader", "* Bye!", ""]
        )
        self.daemon.assertCleanLog()
