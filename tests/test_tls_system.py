"""
System tests: every service over TLS, with an C{ssl:} endpoint and a test
certificate made on the spot.
"""

import datetime
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.trial.unittest import SynchronousTestCase

from netlab.doctor import Doctor
from tests.daemon import Daemon, recvAll, recvUntil


def makeCertificate(directory: Path, altName: bool = True) -> tuple[Path, Path]:
    """
    A self-signed certificate for C{localhost}: (key file, certificate file).
    Without C{altName}, the name is only in the subject's CN, as an old-style
    C{openssl req -subj /CN=localhost} certificate has it.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if altName:
        san = x509.SubjectAlternativeName([x509.DNSName("localhost")])
        builder = builder.add_extension(san, critical=False)
    certificate = builder.sign(key, hashes.SHA256())
    keyFile, certFile = directory / "key.pem", directory / "cert.pem"
    keyFile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certFile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return keyFile, certFile


class TLSSystemTests(SynchronousTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="netlab-tls-")
        key, cert = makeCertificate(Path(cls.tmp.name))
        endpoint = f"ssl:{{port}}:interface=127.0.0.1:privateKey={key}:certKey={cert}"
        cls.daemon = Daemon.start(["--daytime", endpoint, "--doctor", endpoint, "--chat", endpoint])
        cls.context = ssl.create_default_context(cafile=str(cert))

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()
        cls.tmp.cleanup()

    def connect(self, service):
        return self.context.wrap_socket(self.daemon.connect(service), server_hostname="localhost")

    def test_daytime(self):
        with self.connect("daytime") as sock:
            self.assertTrue(recvAll(sock).endswith(b"\nHave a nice day!\n"))

    def test_doctor(self):
        """
        The Doctor greets before the client has said anything -- during the TLS
        handshake -- and still answers once the handshake is done.
        """
        doctor = Doctor()
        with self.connect("doctor") as sock:
            greeting = recvUntil(sock, b"?")  # no line end yet: we have not said what we are
            sock.sendall(b"I feel sad\n")
            reply = recvUntil(sock, b"\n")
        self.assertEqual(greeting.decode(), doctor.greeting())
        reply = reply.removeprefix(b"\n")  # the greeting's line end, owed to a line client
        self.assertEqual(reply.decode(), doctor.reply("I feel sad") + "\n")

    def test_chat(self):
        with self.connect("chat") as first, self.connect("chat") as second:
            recvUntil(first, b"/help")
            recvUntil(second, b"/help")
            second.sendall(b"\r\n")  # a line client: room lines come as they are said
            first.sendall(b"hello over TLS\n")
            self.assertIn(b"> hello over TLS\r\n", recvUntil(second, b"over TLS\r\n"))


class TLSClientSystemTests(SynchronousTestCase):
    """
    The C{netlab} client over C{tls:} endpoints: verified, or one clear line.
    """

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="netlab-tls-")
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)

    def client(self, certificate: Path, port: int):
        netlab = Path(sys.executable).with_name("netlab")
        return subprocess.run(
            [
                str(netlab),
                "doctor",
                "--timeout",
                "20",
                "--connect",
                f"tls:localhost:{port}:trustRoots={certificate.parent}",
            ],
            input="I feel sad\n",
            capture_output=True,
            text=True,
            timeout=60,
        )

    def serve(self, altName: bool):
        key, cert = makeCertificate(self.dir, altName)
        daemon = Daemon.start(
            ["--doctor", f"ssl:{{port}}:interface=127.0.0.1:privateKey={key}:certKey={cert}"]
        )
        self.addCleanup(daemon.close)
        (self.dir / "key.pem").unlink()  # the trust-roots folder holds only the certificate
        return daemon, cert

    def test_verified(self):
        daemon, cert = self.serve(altName=True)
        result = self.client(cert, daemon.port("doctor"))
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        doctor = Doctor()
        self.assertEqual(result.stdout, f"{doctor.greeting()}\n{doctor.reply('I feel sad')}\n")

    def test_noAltName(self):
        """
        A certificate whose host name cannot be checked (no subjectAltName) is
        refused with one line -- Twisted itself only logs it and carries on.
        """
        daemon, cert = self.serve(altName=False)
        result = self.client(cert, daemon.port("doctor"))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn("certificate verify failed", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class HandshakeDeadlineTests(SynchronousTestCase):
    """
    TLS connections that never finish their handshake are cut after
    --handshake-timeout, on every service (they were held for ever, and
    --max-connections of them locked a service).
    """

    def test_stalledHandshakesAreCut(self):
        with tempfile.TemporaryDirectory(prefix="netlab-tls-") as tmp:
            key, cert = makeCertificate(Path(tmp))
            endpoint = f"ssl:{{port}}:interface=127.0.0.1:privateKey={key}:certKey={cert}"
            options = ["--daytime", endpoint, "--doctor", endpoint, "--chat", endpoint]
            options += ["--handshake-timeout", "1s", "--idle-timeout", "0"]
            with Daemon.start(options) as daemon:
                stalled = []
                for service in ("daytime", "doctor", "chat"):
                    for partial in (b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
                        sock = daemon.connect(service)
                        sock.sendall(partial)
                        stalled.append((service, sock))
                started = time.monotonic()
                for service, sock in stalled:
                    sock.settimeout(10)
                    try:
                        self.assertEqual(sock.recv(4096), b"", service)
                    except ConnectionResetError:
                        pass  # cut, not closed: what abortConnection does
                    sock.close()
                elapsed = time.monotonic() - started
                print(f"FAULT tls-handshake connections=6 closed-after={elapsed:.2f}s deadline=1s")
                self.assertLess(elapsed, 8)
                with self.context(cert).wrap_socket(
                    daemon.connect("daytime"), server_hostname="localhost"
                ) as sock:
                    self.assertIn(b"Have a nice day!", recvAll(sock))  # an honest one still works
                daemon.stop()
                self.assertIn("TLS handshake not finished in 1 s", daemon.log())

    def context(self, cert):
        return ssl.create_default_context(cafile=str(cert))
