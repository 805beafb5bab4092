"""Throwaway servers a test starts for itself on a free port (never the machine's shared ones)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A `redis-server` without persistence on a free port of 127.0.0.1; `stop()` and `start()` again keep the
    port, as a restarted Redis would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="jeg-redis-"))
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert REDIS_SERVER, "redis-server is not installed"
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*args, "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.folder)


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class StreamingPair:
    """A throwaway PostgreSQL 15 primary and a streaming hot standby of it (`pg_basebackup -R`), each on a free port
    of 127.0.0.1, trust authentication, every statement logged (`log_statement = all`) so a test can tell which
    server ran a query. As root, the servers run as the `postgres` user (initdb refuses root)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="jeg-pg-"))
        self.primary_port, self.standby_port = free_port(), free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def start(self) -> None:
        primary, standby = self.folder / "primary", self.folder / "standby"
        self._run(str(PG_BIN / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.folder}'",
            "wal_level": "replica",
            "max_wal_senders": "4",
            "log_statement": "'all'",
            "fsync": "off",
            "hot_standby_feedback": "on",
        }
        conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
        self._run("sh", "-c", f'printf %s "{conf}" >> {primary / "postgresql.conf"}')
        self._pg_ctl(primary, self.primary_port, "primary")
        self._run(
            str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
            "-D", str(standby), "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        self._pg_ctl(standby, self.standby_port, "standby")

    def _pg_ctl(self, data: Path, port: int, name: str) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.log(name)), "-o", f"-p {port}", "-w", "start")

    def url(self, name: str, database: str) -> str:
        port = self.primary_port if name == "primary" else self.standby_port
        return f"postgres://postgres@127.0.0.1:{port}/{database}"

    def close(self) -> None:
        for name in ("standby", "primary"):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.folder / name), "-m", "immediate", "stop")
        with contextlib.suppress(OSError):
            shutil.rmtree(self.folder)


class Gunicorn:
    """The project's gunicorn (gunicorn.conf.py) on a free port with ENV, logging to LOG; `close()` stops it."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        base = Path(__file__).resolve().parent.parent
        self.process = subprocess.Popen(
            [str(base / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}",
             "-w", str(workers), "jeghealth_backend.wsgi"],
            cwd=base, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            assert self.process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
