"""When an upload is read: a turn, then memory from the decoding budget, then a worker thread."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

import anyio

from captcha_solver.serving._budget import MemoryBudget
from captcha_solver.serving._errors import ApiError
from captcha_solver.serving._uploads import BYTES_PER_PIXEL, UploadReader

__all__ = ["ReadScheduler"]


@asynccontextmanager
async def _turn(limiter: anyio.CapacityLimiter, wait_s: float | None, what: str):
    """Hold a token of ``limiter`` for the block, waiting for it at most ``wait_s`` (None: no limit)."""
    try:
        with anyio.fail_after(wait_s):
            await limiter.acquire()
    except TimeoutError:
        raise ApiError(
            503,
            "server_busy",
            f"{what}: the server is busy reading other large images; no turn came within {wait_s:g} s. Retry later.",
        ) from None
    try:
        yield
    finally:
        limiter.release()


class ReadScheduler:
    """Reads uploads with :class:`UploadReader`, no more at once than the cores and the decoding budget allow.

    Reads at once: more threads than cores only adds contention; a few extra hide I/O and the
    GIL hand-offs. A read takes its turn, then its memory, then a thread of :attr:`threads`.
    Images too big for a fair share of the memory take their turns one at a time, apart, so
    that while they wait for memory they never hold the turns of the captchas.

    Parameters
    ----------
    uploads : UploadReader
    budget : MemoryBudget
        The decoding budget (``serving.decode_memory_mb``); its ``wait_s`` bounds a big image's wait.
    """

    def __init__(self, uploads: UploadReader, budget: MemoryBudget):
        self.uploads = uploads
        self.budget = budget
        self.turns = anyio.CapacityLimiter(max(2, (os.cpu_count() or 1) + 2))
        self.big_turns = anyio.CapacityLimiter(1)
        self.threads = anyio.CapacityLimiter(self.turns.total_tokens + self.big_turns.total_tokens)

    async def read(self, name: str, payload: bytes | str) -> dict:
        """Check, then (in its turn, with its memory reserved) decode and read one upload; its JSON fields.

        Raises
        ------
        ApiError
            If the upload is refused, or 503 ``server_busy`` if no turn or memory came in time
            (that one is given its results row here).
        """
        uploads, budget = self.uploads, self.budget
        # The header check is cheap and needs no reservation: a bomb is refused here, at once, in
        # the default thread pool (not queued behind the reads of honest captchas).
        data, header = await anyio.to_thread.run_sync(uploads.check, payload, name)
        cost = header.width * header.height * BYTES_PER_PIXEL
        big = cost > budget.total // self.turns.total_tokens
        try:
            # The turn first, then memory: only the few reads that hold a turn ever wait for
            # memory. A captcha's turn comes first come, first served, with no time limit, so it
            # never times out queueing behind other captchas; a big image waits at most wait_s.
            async with _turn(self.big_turns if big else self.turns, budget.wait_s if big else None, name):
                taken = await budget.acquire(cost, name)
                try:
                    return await anyio.to_thread.run_sync(uploads.read, data, name, limiter=self.threads)
                finally:
                    budget.release(taken)
        except ApiError as exc:
            if exc.code == "server_busy":  # not read: recorded like any refused upload
                await anyio.to_thread.run_sync(uploads.refused, name, exc)
            raise
