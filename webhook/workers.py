"""Background workers of the webhook app: N loops of `run_once`, woken early by `wake()`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from abc import ABC, abstractmethod


class Workers(ABC):
    """Run `run_once` in `count` tasks; an idle task waits `idle_poll` seconds or for `wake()`."""

    name = "worker"

    def __init__(self, count: int, idle_poll: float) -> None:
        self.count = count
        self.idle_poll = idle_poll
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.log = logging.getLogger(f"smsbridge.{self.name}")
        self._wakeup = asyncio.Event()
        self._stop = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    @abstractmethod
    async def run_once(self) -> int:
        """Do one round of work; how many items it handled (0 means idle)."""

    def wake(self) -> None:
        self._wakeup.set()

    async def nap(self, seconds: float) -> None:
        """Sleep `seconds`, or less if we are told to stop: a retry's backoff must not hold up a
        shutdown (the retry then comes at once and, failing, leaves its work queued)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"{self.name}-{n}") for n in range(self.count)
        ]

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def stop(self, grace: float = 30.0) -> None:
        """Let work in flight finish (so its results are stored), then stop."""
        self._stopping = True
        self._stop.set()
        self._wakeup.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                busy = await self.run_once() > 0
            except Exception:
                self.log.exception("%s round failed; retrying", self.name)
                busy = False
            if not busy and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.idle_poll)
                self._wakeup.clear()
