"""A memory budget shared by the requests of one server: reserve bytes before allocating them."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from serving._errors import ApiError

__all__ = ["MemoryBudget"]


class MemoryBudget:
    """Bytes that requests may hold at once; a reservation waits on the event loop until it fits.

    A request reserves what it is about to allocate (a body from its
    ``Content-Length``, an image from the size in its header) and gives it
    back when done. Waiting takes no worker thread. A reservation that fits
    goes ahead even if a larger one arrived first: a big image waits for
    room rather than holding up the small captchas behind it. One larger
    than the whole budget is cut down to the budget, so it runs alone.

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
        self._waiters: set[asyncio.Future] = set()

    async def acquire(self, nbytes: int, what: str) -> int:
        """Wait until ``nbytes`` fit, take them and return the amount taken (to give to :meth:`release`).

        Raises
        ------
        ApiError
            503 ``server_busy`` if the bytes did not fit within ``wait_s``.
        """
        nbytes = max(0, min(int(nbytes), self.total))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while self.used + nbytes > self.total:
            remaining = deadline - loop.time()
            waiter = loop.create_future()
            self._waiters.add(waiter)
            try:
                if remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                raise ApiError(
                    503, "server_busy",
                    f"{what}: the server is busy; {nbytes} bytes did not fit within {self.wait_s:g} s into the "
                    f"memory budget of {self.total} bytes ({self.setting}), {self.used} of them in use. Retry later.",
                ) from None
            finally:
                self._waiters.discard(waiter)
        self.used += nbytes
        return nbytes

    def release(self, nbytes: int) -> None:
        """Give back what :meth:`acquire` returned and wake every waiter to try again."""
        self.used -= nbytes
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    @asynccontextmanager
    async def reserve(self, nbytes: int, what: str):
        """``async with budget.reserve(n, name):`` holds ``n`` bytes (at most the budget) for the block."""
        taken = await self.acquire(nbytes, what)
        try:
            yield taken
        finally:
            self.release(taken)
