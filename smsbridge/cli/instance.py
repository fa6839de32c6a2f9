"""The running `smsbridge run` of a directory: one at a time, and findable by other commands.

`run` holds an exclusive lock on `.smsbridge.run` for as long as it runs (the kernel drops it
when the process dies, however it dies) and writes its ports there, so that a second `run` can
say which one is running instead of failing on a port, and commands run beside it (`smsbridge
flow run`, `smsbridge sandbox …`) find its Prefect API and sandbox portal without being told.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

RUN_FILE = ".smsbridge.run"


@dataclass(frozen=True)
class Ports:
    webhook: int = 8000
    prefect: int = 4200
    smsru: int = 8001
    portal: int = 8002


@dataclass(frozen=True)
class Instance:
    pid: int
    host: str
    ports: Ports
    prefect: bool

    @property
    def prefect_api(self) -> str | None:
        return f"http://127.0.0.1:{self.ports.prefect}/api" if self.prefect else None

    def describe(self) -> str:
        parts = [f"pid {self.pid}", f"webhook http://{self.host}:{self.ports.webhook}"]
        if self.prefect:
            parts.append(f"Prefect UI http://127.0.0.1:{self.ports.prefect}")
        return ", ".join(parts)


class AlreadyRunning(Exception):
    """Another `smsbridge run` holds this directory; the text says which and what to do."""


class RunLock:
    """`with RunLock(directory) as lock: lock.publish(instance); …` — or AlreadyRunning."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / RUN_FILE
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            other = running(self.path.parent)
            who = f" ({other.describe()})" if other else ""
            raise AlreadyRunning(
                f"smsbridge is already running in {self.path.parent}{who}; use that one, or "
                "stop it first (Ctrl-C in its terminal)"
            ) from None
        self._fd = fd
        return self

    def publish(self, instance: Instance) -> None:
        assert self._fd is not None
        record = json.dumps({**asdict(instance), "ports": asdict(instance.ports)}).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, record, 0)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)  # still ours: a second `run` may be reading it only after this
        os.close(self._fd)
        self._fd = None


def running(directory: Path | None = None) -> Instance | None:
    """The `smsbridge run` of `directory` (default: the current one) while it runs, else None."""
    path = (directory or Path.cwd()) / RUN_FILE
    try:
        with path.open("rb") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # locked: it runs
                record = json.loads(file.read() or b"null")
            else:
                return None  # nobody holds it: a file left behind
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    return Instance(record["pid"], record["host"], Ports(**record["ports"]), record["prefect"])
