"""Real mail servers for the email channel's tests, shared across the session:

- `dovecot`: Debian's dovecot-imapd started with a config, maildir and spare port of its own in a
  temporary folder (no system service). Every login name is accepted with the password `secret`
  and gets its own maildir, so each test uses a mailbox nobody else touches (`imap_account`).
- `smtp_server`: aiosmtpd in the test process; `smtp_server.messages` holds what it received, as
  bytes a mail client would read. `smtp_mailer` points Django's default mailer at it.

Without dovecot the IMAP tests skip; REQUIRE_SERVICES=1 (CI) turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP_PASSWORD = "secret"


def _spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("dovecot exited:\n" + (log.read_text() if log.exists() else ""))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dovecot did not open its port")


class Dovecot:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="hd-dovecot-"))
        os.chmod(self.dir, 0o755)  # the run user must be able to enter it (mkdtemp is 0700)
        if os.geteuid() == 0:
            user, group = "nobody", "nogroup"
        else:
            user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        for sub in ("run", "state", "home"):
            (self.dir / sub).mkdir()
        if os.geteuid() == 0:
            uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
            os.chown(self.dir / "home", uid, gid)
        self.port = _spare_port()
        self.log = self.dir / "dovecot.log"
        conf = self.dir / "dovecot.conf"
        conf.write_text(
            f"""base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = no
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:~/Maildir
passdb {{
  driver = static
  args = password={IMAP_PASSWORD}
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={self.dir}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.port}
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _wait_for_port(self.port, self.proc, self.log)

    def client(self, user: str):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user, IMAP_PASSWORD)
        return client

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot():
    if not os.path.exists(DOVECOT):
        message = "needs Debian's dovecot-imapd (/usr/sbin/dovecot)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message + " (REQUIRE_SERVICES=1 turns this skip into a failure)")
        pytest.skip(message)
    server = Dovecot()
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot, db, monkeypatch):
    """A fresh IMAP account on the shared dovecot, and a Mailbox row that polls it."""
    from mail.models import Mailbox

    user = f"support-{uuid.uuid4().hex[:8]}"
    mailbox = Mailbox.objects.create(
        name=user,
        address="support@parcelly.test",
        host="127.0.0.1",
        port=dovecot.port,
        use_tls=False,
        username=user,
        password_env="HD_TEST_IMAP_PASSWORD",
    )
    monkeypatch.setenv("HD_TEST_IMAP_PASSWORD", IMAP_PASSWORD)  # a worker started by the test inherits it
    client = dovecot.client(user)
    client.user = user
    client.mailbox = mailbox
    yield client
    with contextlib.suppress(Exception):
        client.logout()


class SmtpServer:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port = _spare_port()
        self.envelopes: list = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        with self._lock:
            return [BytesParser(policy=policy.default).parsebytes(e.original_content) for e in self.envelopes]

    def clear(self) -> None:
        with self._lock:
            self.envelopes.clear()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="session")
def _smtp_server():
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(_smtp_server, settings):
    """The in-process SMTP server, emptied, with Django's default mailer pointed at it."""
    _smtp_server.clear()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _smtp_server.port, "timeout": 10},
        }
    }
    settings.MAIL_SUPPORT_ADDRESS = "support@parcelly.test"
    yield _smtp_server
    _smtp_server.clear()
