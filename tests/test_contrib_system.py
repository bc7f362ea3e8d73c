"""
The systemd units in C{contrib/} (issue 10): checked by C{systemd-analyze
verify} where it is installed, and their exact command line run for real, with
the Day/Time socket handed over the way systemd's socket activation does.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.daemon import START_TIMEOUT, recvAll, twistd, waitForPort

CONTRIB = Path(__file__).resolve().parent.parent / "contrib"

#: Where the README installs netlab for systemd; the tests use their own venv.
INSTALLED_BIN = "/opt/netlab/bin/"


def readUnit(path: Path) -> dict[str, dict[str, list[str]]]:
    """
    A systemd unit file as {section: {key: [values]}} (keys may repeat).
    """
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep, f"{path.name}: not a unit file line: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def localCommand(execStart: str) -> list[str]:
    """
    The unit's command line, run from the venv running the tests.
    """
    command = shlex.split(execStart)
    assert command[0].startswith(INSTALLED_BIN), command[0]
    command[0] = str(Path(twistd()).with_name(command[0][len(INSTALLED_BIN) :]))
    return command


class UnitFileTests(SynchronousTestCase):
    def setUp(self):
        self.service = readUnit(CONTRIB / "netlab.service")
        self.socket = readUnit(CONTRIB / "netlab.socket")

    def test_serviceRunsTwistWithTextLogs(self):
        [execStart] = self.service["Service"]["ExecStart"]
        command = shlex.split(execStart)
        self.assertEqual(command[:3], [INSTALLED_BIN + "twist", "--log-format=text", "netlab"])
        self.assertIn("netlab.socket", self.service["Unit"]["Requires"][0])

    def test_socketIsDaytime(self):
        self.assertEqual(self.socket["Socket"]["ListenStream"], ["21566"])
        [execStart] = self.service["Service"]["ExecStart"]
        self.assertIn("--daytime systemd:domain=INET6:index=0", execStart)

    def test_systemdAnalyzeVerify(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze is not installed (apt-get install systemd)")
        with tempfile.TemporaryDirectory(prefix="netlab-units-") as tmp:
            [execStart] = self.service["Service"]["ExecStart"]
            text = (CONTRIB / "netlab.service").read_text()
            local = shlex.join(localCommand(execStart))
            (Path(tmp) / "netlab.service").write_text(text.replace(execStart, local))
            shutil.copy(CONTRIB / "netlab.socket", tmp)
            result = subprocess.run(
                [analyze, "verify", "--man=no", "netlab.socket", "netlab.service"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=60,
            )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stdout + result.stderr, "")


class SocketActivationTests(SynchronousTestCase):
    def test_exactCommandLine(self):
        """
        The unit's exact command line serves Day/Time on the socket systemd
        hands it (fd 3, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), dual stack like the
        .socket's BindIPv6Only=both, and the Doctor and the Chat on their ports.
        """
        [execStart] = readUnit(CONTRIB / "netlab.service")["Service"]["ExecStart"]
        command = localCommand(execStart)
        for port in (21567, 21568):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    self.skipTest(f"port {port} is in use here (a netlab already running?)")
        try:
            listening = socket.socket(socket.AF_INET6)
        except OSError:
            self.skipTest("this host has no IPv6 (the unit's socket is dual stack)")
        with listening:
            listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            listening.bind(("::", 0))
            listening.listen(16)
            port = listening.getsockname()[1]
            fd = listening.fileno()

            def handOver() -> None:
                os.dup2(fd, 3)
                os.set_inheritable(3, True)
                os.environ.update(
                    LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="netlab.socket"
                )

            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                # The child closes every other descriptor after handOver ran.
                pass_fds=(3,),
                preexec_fn=handOver,
            )
        try:
            for service in (21567, 21568):
                if process.poll() is not None:
                    self.fail(f"the unit's command exited: {process.communicate()[0]}")
                waitForPort(service)
            for host in ("127.0.0.1", "::1"):
                with socket.create_connection((host, port), timeout=10) as client:
                    self.assertIn(b"Have a nice day!", recvAll(client))
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=START_TIMEOUT)
        self.assertEqual(process.returncode, 0, output)
        self.assertIn("daytime: served 127.0.0.1:", output)
        self.assertIn("daytime: served [::1]:", output)
        self.assertNotIn('{"log_', output)
