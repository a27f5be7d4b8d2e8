"""A memory budget shared by the requests of one server: reserve bytes before allocating them."""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import asynccontextmanager

from captcha_solver.serving._errors import ApiError

__all__ = ["MemoryBudget"]


class MemoryBudget:
    """Bytes that requests may hold at once; a reservation waits on the event loop until it fits.

    A request reserves what it is about to allocate (a body from its
    ``Content-Length``, an image from the size in its header) and gives it
    back when done. Waiting takes no worker thread. Room that is given back
    goes to the waiters in arrival order, to each one that fits: a big
    reservation that does not fit yet does not hold up the small ones
    behind it (it waits for room, and is answered 503 if none comes in
    time). One larger than the whole budget is cut down to the budget, so
    it runs alone.

    Parameters
    ----------
    total_bytes : int
        The budget.
    setting : str
        The config key that sets it, named in the 503 answer.
    wait_s : float, optional
        Longest wait for room before the request is answered 503.

    Notes
    -----
    Not thread-safe: use it from the event loop only (the handlers and
    middlewares do), never from a worker thread.
    """

    def __init__(self, total_bytes: int, *, setting: str, wait_s: float = 10.0):
        if total_bytes <= 0:
            raise ValueError(f"a memory budget must be positive, got {total_bytes} bytes")
        self.total = int(total_bytes)
        self.setting = setting
        self.wait_s = wait_s
        self.used = 0
        self._waiters: deque[tuple[int, asyncio.Future]] = deque()

    async def acquire(self, nbytes: int, what: str) -> int:
        """Wait until ``nbytes`` fit, take them and return the amount taken (to give to :meth:`release`).

        Raises
        ------
        ApiError
            503 ``server_busy`` if the bytes did not fit within ``wait_s``.
        """
        nbytes = max(0, min(int(nbytes), self.total))
        if self.used + nbytes <= self.total:
            self.used += nbytes
            return nbytes
        waiter = asyncio.get_running_loop().create_future()
        entry = (nbytes, waiter)
        self._waiters.append(entry)
        keep = False
        try:
            async with asyncio.timeout(self.wait_s):
                await waiter  # release() grants the bytes (adds them to used) before it wakes us
            keep = True
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                keep = True  # granted just as the time ran out
                return nbytes
            raise ApiError(
                503,
                "server_busy",
                f"{what}: the server is busy; {nbytes} bytes did not fit within {self.wait_s:g} s into the "
                f"memory budget of {self.total} bytes ({self.setting}), {self.used} of them in use. Retry later.",
            ) from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)
            elif not keep and waiter.done() and not waiter.cancelled():
                self.release(nbytes)  # granted, but the request was cancelled (client gone) meanwhile
        return nbytes

    def release(self, nbytes: int) -> None:
        """Give back what :meth:`acquire` returned, and grant the waiters that now fit, oldest first."""
        self.used -= nbytes
        for entry in list(self._waiters):
            wanted, waiter = entry
            if waiter.done():  # cancelled while waiting (client gone); acquire() removes it
                continue
            if self.used + wanted <= self.total:
                self.used += wanted
                waiter.set_result(None)
                self._waiters.remove(entry)

    @asynccontextmanager
    async def reserve(self, nbytes: int, what: str):
        """``async with budget.reserve(n, name):`` holds ``n`` bytes (at most the budget) for the block."""
        taken = await self.acquire(nbytes, what)
        try:
            yield taken
        finally:
            self.release(taken)
