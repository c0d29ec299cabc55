"""Postfix as a benchmark target: a private instance relaying through its own durable queue to the sink.

Debian's postfix package, run from a temporary config_directory and
queue_directory on a loopback port, leaving the system's Postfix (if any)
alone. It relays the bench domain to the sink ([127.0.0.1]:PORT, no DNS),
with Postfix's defaults otherwise: queue files are fsync'd before the 250.
No chroot, so nothing has to be copied into the queue directory. Runs as
root (the master drops to mail_owner); skipped when the package is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

POSTFIX, POSTCONF = "/usr/sbin/postfix", "/usr/sbin/postconf"
QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")
SERVICES = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def why_not() -> str:
    """Empty when a private Postfix can run here, else the reason it is skipped."""
    if not (os.path.exists(POSTFIX) and os.path.exists(POSTCONF) and os.path.isdir("/usr/lib/postfix/sbin")):
        return "Postfix not installed (Debian package postfix): skipped"
    if os.geteuid() != 0:
        return "Postfix needs root to start its master: skipped"
    try:
        import grp
        import pwd

        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return "Postfix's postfix user or postdrop group is missing: skipped"
    return ""


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostfix:
    def __init__(self, sink_port: int) -> None:
        # Its own directory, readable by mail_owner all the way down (a private temp dir is 0700).
        self.dir = Path(tempfile.mkdtemp(prefix="relay-bench-postfix-"))
        os.chmod(self.dir, 0o755)
        self.config = self.dir / "etc"
        self.queue = self.dir / "queue"
        self.port = free_port()
        self.sink_port = sink_port
        self.running = False

    def write_config(self) -> None:
        self.config.mkdir()
        (self.dir / "data").mkdir()
        self.queue.mkdir()
        (self.config / "main.cf").write_text("")
        (self.config / "master.cf").write_text(SERVICES.format(listen=f"127.0.0.1:{self.port}"))
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.dir / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix.bench.test",
            "mydomain": "bench.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "bench.test",
            "relayhost": f"[127.0.0.1]:{self.sink_port}",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "smtpd_peername_lookup": "no",  # loopback; a resolver that times out would only measure DNS
            "maillog_file": str(self.dir / "maillog"),
            "maillog_file_prefixes": str(self.dir),
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "biff": "no",
        }
        subprocess.run([POSTCONF, "-c", str(self.config), "-e", *(f"{k}={v}" for k, v in settings.items())],
                       check=True, capture_output=True, text=True)
        # postfix-script fixes the queue's ownership itself; the data directory must be mail_owner's.
        import pwd

        owner = pwd.getpwnam("postfix")
        os.chown(self.dir / "data", owner.pw_uid, owner.pw_gid)

    def start(self) -> None:
        """Run the master in the foreground as our child (start-fg), so it is ours to wait for."""
        self.write_config()
        self.process = subprocess.Popen([POSTFIX, "-c", str(self.config), "start-fg"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.running = True
        deadline = time.monotonic() + 30
        while not self.listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Postfix did not start on 127.0.0.1:{self.port}: {self.log_tail()}")
            time.sleep(0.1)

    def listening(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                return probe.recv(3) == b"220"
        except OSError:
            return False

    def master_pid(self) -> int:
        return self.process.pid

    def queued(self) -> int:
        """Messages in any queue, counted from the queue directory itself (no set-gid tools needed)."""
        return sum(len(files) for name in QUEUES for _, _, files in os.walk(self.queue / name))

    def stop(self) -> None:
        if not self.running:
            return
        subprocess.run([POSTFIX, "-c", str(self.config), "stop"], capture_output=True, text=True)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            subprocess.run([POSTFIX, "-c", str(self.config), "abort"], capture_output=True)
            self.process.kill()
            self.process.wait(timeout=10)
        self.running = False

    def log_tail(self, lines: int = 5) -> str:
        log = self.dir / "maillog"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def version(self) -> str:
        result = subprocess.run([POSTCONF, "-c", str(self.config), "-h", "mail_version"],
                                capture_output=True, text=True)
        return result.stdout.strip()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
