"""
A plain (non-editable) C{pip install .} in a fresh venv gives everything the
README promises (issue 10): the editable install the other tests use once hid
a wheel without C{netlab.client}, so every C{netlab} command failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests.daemon import START_TIMEOUT, freePort, waitForPort

ROOT = Path(__file__).resolve().parent.parent

#: Installing Twisted and its dependencies (from pip's cache, or the index).
INSTALL_TIMEOUT = 600


def sourcePackages() -> list[str]:
    """
    Every package in the source tree, dotted.
    """
    return sorted(
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "netlab").rglob("__init__.py")
        if "__pycache__" not in init.parts
    )


class PlainInstallTests(SynchronousTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="netlab-install-")
        venv = Path(cls.tmp.name) / "venv"
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
        cls.bin = venv / "bin"
        result = subprocess.run(
            [str(cls.bin / "pip"), "install", "-q", str(ROOT)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        cls.installError = None if result.returncode == 0 else result.stdout + result.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        if self.installError is not None:
            self.fail(f"pip install . failed:\n{self.installError}")

    def run_(self, *command: str) -> str:
        """
        Run C{command} from the venv's bin folder, outside the source tree.
        """
        result = subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            cwd=self.tmp.name,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, f"{' '.join(command)}:\n{output}")
        return output

    def test_everyPackageInstalled(self):
        """
        Every package of the source tree is installed (packages are
        discovered, never listed by hand), and the Doctor's script with them.
        """
        packages = sourcePackages()
        self.assertIn("netlab.client", packages)
        script = "import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)"
        self.run_("python", "-c", script, *packages)
        output = self.run_("python", "-c", "import netlab.doctor as d; print(d.__file__)")
        self.assertTrue((Path(output.strip()).parent / "default.script").exists())

    def test_unitTestsWithoutExtras(self):
        """
        The unit tests shipped in the wheel pass under trial in the plain
        install: those that need an extra (hypothesis, pyOpenSSL) skip, saying so.
        """
        result = subprocess.run(
            [str(self.bin / "python"), "-m", "twisted.trial", "netlab"],
            cwd=self.tmp.name,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, output[-3000:])
        self.assertIn("PASSED", output)
        self.assertIn("hypothesis is not installed", output)

    def test_consoleScriptsAndModules(self):
        """
        Every console script and C{-m} entry point runs from the plain install.
        """
        self.assertIn("netlab", self.run_("netlab", "--version"))
        for command in ("daytime", "chat", "doctor"):
            self.assertIn("usage: netlab " + command, self.run_("netlab", command, "--help"))
        self.assertIn("netlab", self.run_("python", "-m", "netlab.client", "--version"))
        self.assertIn("usage:", self.run_("python", "-m", "netlab.doctor.check", "--help"))
        self.assertIn("--doctor-script", self.run_("twistd", "netlab", "--help"))
        self.assertIn("--doctor-script", self.run_("twist", "netlab", "--help"))

    def test_clientTalksToDaemon(self):
        """
        The installed daemon and the installed client work together.
        """
        port = freePort()
        daemon = subprocess.Popen(
            [
                str(self.bin / "twistd"), "-n", "--pidfile=", "netlab",
                "--daytime", f"tcp:{port}:interface=127.0.0.1",
            ],
            cwd=self.tmp.name,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            try:
                waitForPort(port)
            except OSError:
                daemon.terminate()
                self.fail(f"the installed daemon did not listen:\n{daemon.communicate()[0]}")
            output = self.run_("netlab", "daytime", "127.0.0.1", "-p", str(port))
        finally:
            daemon.terminate()
            daemon.communicate(timeout=START_TIMEOUT)
        self.assertIn("Have a nice day!", output)
        self.assertEqual(daemon.returncode, 0)
