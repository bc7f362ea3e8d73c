"""
Fault suite, scenario 8 (issue 6): bad starts.  Every invalid option value, a
port in use, an unreadable TLS key and an invalid Doctor script make
C{twistd -n netlab} exit non-zero with one clear line naming the option, no
traceback, and no listening port left behind.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netlab.tap import PARAMETERS
from tests.daemon import freePort, run

#: One invalid value for every option of the plugin (the test fails for an
#: option that has none here, so a new option must come with its bad value).
BAD_VALUES = {
    "daytime": "banana",
    "daytime-udp": "127.0.0.1:99999",
    "daytime-format": "neither",
    "udp-rate": "fast",
    "echo": "tcp:-1",
    "discard": "unix:",
    "chargen": "99999",
    "qotd": "qotd",
    "time": "tcp:37:interface=no.such.address",
    "echo-udp": "[::1:7",
    "discard-udp": "",
    "chargen-udp": "127.0.0.1:",
    "qotd-udp": "70000",
    "time-udp": "time",
    "lab": "jitter=5",
    "handshake-timeout": "a while",
    "chat": "tcp:port",
    "chat-history": "-1",
    "chat-operator": "bogus:endpoint",
    "chat-sendq": "lots",
    "chat-threads": "65",
    "chat-rate": "5/hour",
    "chat-address-rate": "lots",
    "chat-address-bytes": "a lot",
    "chat-redis": "http://127.0.0.1:6379/0",
    "chat-room": "a room",
    "chat-redis-hold": "0",
    "doctor": "65536",
    "doctor-script": "/nonexistent/doctor.script",
    "doctor-rate": "fast",
    "doctor-address-rate": "lots",
    "max-line": "0",
    "bare-delay": "-0.5",
    "idle-timeout": "soon",
    "max-connections": "-5",
    "max-per-peer": "many",
    "web": "tcp:web",
    "dashboard": "tcp:0:interface=0.0.0.0",  # reachable from elsewhere, and no token
    "dashboard-token": "short",
    "trace": "4 kilobytes",
}

#: Options whose bad value is only looked at when another service runs, and
#: that service.
NEEDS = {
    "chat-operator": ["--chat", "tcp:0:interface=127.0.0.1"],
    "chat-room": ["--chat-redis", "redis://127.0.0.1:1/0"],
    "chat-redis-hold": ["--chat-redis", "redis://127.0.0.1:1/0"],
    "dashboard-token": ["--dashboard", "tcp:0:interface=127.0.0.1"],
    "trace": ["--dashboard", "tcp:0:interface=127.0.0.1"],
}

#: Bad starts are run this many at a time (each is a short-lived twistd).
PARALLEL = 4


class BadStartTests(SynchronousTestCase):
    def assertOneLineFailure(self, case: str, options: list[str], *fragments: str) -> str:
        """
        Start the daemon with C{options} plus a Day/Time listener on a free
        port: it must exit non-zero, print exactly one error line containing
        every one of C{fragments} and no traceback, and leave the free port
        closed.  Return the line.
        """
        free = freePort()
        started = time.monotonic()
        result = run(["--daytime", f"tcp:{free}:interface=127.0.0.1", *options])
        elapsed = time.monotonic() - started
        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, output)
        for bad in ("Traceback", "Unhandled Error"):
            self.assertNotIn(bad, output)
        # twistd's own start-up log lines (it logs to stdout here) are not
        # errors; the error is the one line that says "netlab:".
        lines = [line for line in output.splitlines() if "netlab:" in line]
        self.assertEqual(len(lines), 1, output)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", free), timeout=5).close()
        print(f"FAULT scenario=8 case={case} seconds={elapsed:.2f}")
        return lines[0]

    def test_everyBadValue(self):
        """
        Each option, given an invalid value, stops the daemon with one line
        naming that option.
        """
        self.assertEqual(sorted(BAD_VALUES), sorted(PARAMETERS))
        cases = []
        for name, value in BAD_VALUES.items():
            options = [f"--{name}", value, *NEEDS.get(name, [])]
            cases.append((name, options))
        with ThreadPoolExecutor(PARALLEL) as pool:
            outcomes = list(
                pool.map(
                    lambda case: self._verdict(f"bad-{case[0]}", case[1], f"--{case[0]}"), cases
                )
            )
        failures = [
            (name, outcome) for (name, _), outcome in zip(cases, outcomes, strict=True) if outcome
        ]
        self.assertEqual(failures, [])

    def _verdict(self, case: str, options: list[str], *fragments: str) -> str | None:
        """
        L{assertOneLineFailure}'s verdict as a value (for running in threads):
        L{None} if it holds, else why not.
        """
        try:
            self.assertOneLineFailure(case, options, *fragments)
        except Exception as e:  # reported by the caller, not swallowed
            return f"{type(e).__name__}: {e}"
        return None

    def test_portInUse(self):
        """
        A service whose port is taken stops the daemon with one line naming
        its option; the services opened before it are closed again.
        """
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            others = ["--chat", f"tcp:{freePort()}:interface=127.0.0.1"]
            line = self.assertOneLineFailure(
                "port-in-use",
                [*others, "--doctor", f"tcp:{taken}:interface=127.0.0.1"],
                "--doctor",
                "in use",
            )
        self.assertIn(str(taken), line)
        for option, value in zip(others[::2], others[1::2], strict=True):
            port = int(value.split(":")[1])
            with self.assertRaises(ConnectionRefusedError, msg=option):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()

    def test_unreadableKey(self):
        """
        A TLS key that cannot be read or is not a key: missing, a directory,
        garbage, or (when not running as root, who can read anything) a file
        without read permission.
        """
        with tempfile.TemporaryDirectory() as tmp:
            garbage = Path(tmp, "garbage.pem")
            garbage.write_text("not a key\n")
            locked = Path(tmp, "locked.pem")
            locked.write_text("-----BEGIN PRIVATE KEY-----\n")
            locked.chmod(0)
            keys = [Path(tmp, "missing.pem"), Path(tmp), garbage]
            if os.geteuid() != 0:
                keys.append(locked)
            for key in keys:
                endpoint = f"ssl:0:interface=127.0.0.1:privateKey={key}"
                case = f"tls-key-{key.name}"
                self.assertOneLineFailure(case, ["--doctor", endpoint], "--doctor", str(key))

    def test_invalidDoctorScript(self):
        """
        A Doctor script with a syntax error stops the daemon with one line
        naming the option and the place of the error.
        """
        with tempfile.NamedTemporaryFile("w", suffix=".script") as script:
            script.write("(HELLO)\nSTART\n(SAD ((0 SAD 0) (WHY 9))\n")
            script.flush()
            self.assertOneLineFailure(
                "doctor-script",
                ["--doctor-script", script.name, "--doctor", "0"],
                "--doctor-script",
                script.name,
            )
