"""PostgreSQL and Redis for the production-topology tests: real servers from Debian's
packages, each started on a free loopback port with its data in a temporary directory and
stopped afterwards. scripts/ensure-services installs the packages where they are missing."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import redis
from sqlalchemy import create_engine, text

from tests.support import free_port

POSTGRES_USER = "deploybot"
DATABASES = ("deploybot", "marvin_tracker", "bender_tracker")


class ServiceMissing(RuntimeError):
    pass


def postgres_program(name: str) -> str:
    """initdb and pg_ctl live outside PATH on Debian (/usr/lib/postgresql/<version>/bin)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found[-1]:
        raise ServiceMissing(f"PostgreSQL's {name} is not installed: run scripts/ensure-services")
    return found[-1]


def as_postgres_user(command: List[str]) -> List[str]:
    """PostgreSQL refuses to run as root; Debian's package brings the postgres user."""
    return ["runuser", "-u", "postgres", "--"] + command if os.geteuid() == 0 else command


class Postgres:
    def __init__(self):
        # Its own directory under /tmp: the postgres user cannot enter pytest's private ones.
        self.directory, self.port = Path(tempfile.mkdtemp(prefix="deploybot-postgres-")), free_port()
        self.data = self.directory / "data"

    @property
    def base_url(self) -> str:
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}"

    def url(self, database: str) -> str:
        return f"{self.base_url}/{database}"

    def start(self) -> "Postgres":
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        subprocess.run(as_postgres_user([postgres_program("initdb"), "-D", str(self.data), "-U", POSTGRES_USER,
                                         "--auth=trust", "--no-sync"]), check=True, capture_output=True)
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(as_postgres_user([postgres_program("pg_ctl"), "-D", str(self.data), "-o", options,
                                         "-l", str(self.directory / "postgres.log"), "-w", "start"]),
                       check=True, capture_output=True)
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT", future=True)
        with engine.connect() as connection:
            for database in DATABASES:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
        engine.dispose()
        return self

    @contextmanager
    def unavailable(self, database: str):
        """While inside: the database refuses new connections and its open ones are cut, as
        when it is down; the other databases of the server go on."""
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT", future=True)
        try:
            with engine.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false'))
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                                   {"d": database})
            yield
        finally:
            with engine.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true'))
            engine.dispose()

    def stop(self) -> None:
        subprocess.run(as_postgres_user([postgres_program("pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)


class Redis:
    def __init__(self):
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> "Redis":
        program = shutil.which("redis-server")
        if not program:
            raise ServiceMissing("redis-server is not installed: run scripts/ensure-services")
        self.process = subprocess.Popen([program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client, deadline = redis.Redis(port=self.port), time.monotonic() + 20
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
