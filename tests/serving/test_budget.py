"""The memory budget: reservations wait for room, small ones pass a big waiter, a long wait is a 503."""

from __future__ import annotations

import asyncio

import pytest

from captcha_solver.serving._budget import MemoryBudget
from captcha_solver.serving._errors import ApiError
from captcha_solver.serving._limits import BODY_FACTOR
from captcha_solver.serving._uploads import BYTES_PER_PIXEL
from captcha_solver.settings import Config


def test_reservations_that_fit_go_ahead_and_are_given_back():
    async def run():
        budget = MemoryBudget(100, setting="serving.test_mb")
        async with budget.reserve(60, "a"), budget.reserve(40, "b"):
            assert budget.used == 100
        assert budget.used == 0

    asyncio.run(run())


def test_a_reservation_waits_until_room_is_given_back():
    async def run():
        budget = MemoryBudget(100, setting="serving.test_mb")
        order = []
        first = await budget.acquire(80, "first")

        async def second():
            async with budget.reserve(50, "second"):
                order.append("second runs")

        task = asyncio.create_task(second())
        await asyncio.sleep(0.01)
        assert order == [] and budget.used == 80  # still waiting
        order.append("first done")
        budget.release(first)
        await task
        assert order == ["first done", "second runs"] and budget.used == 0

    asyncio.run(run())


def test_a_small_reservation_passes_a_big_one_that_waits():
    async def run():
        budget = MemoryBudget(100, setting="serving.test_mb")
        held = await budget.acquire(30, "held")
        big = asyncio.create_task(budget.acquire(90, "big"))
        await asyncio.sleep(0.01)
        # The big one cannot fit while 30 are held; a small one that fits is not queued behind it.
        small = await asyncio.wait_for(budget.acquire(20, "small"), timeout=1)
        assert budget.used == 50 and not big.done()
        budget.release(small)
        budget.release(held)
        assert await asyncio.wait_for(big, timeout=1) == 90

    asyncio.run(run())


def test_waiting_too_long_is_a_503_naming_the_setting():
    async def run():
        budget = MemoryBudget(100, setting="serving.decode_memory_mb", wait_s=0.05)
        await budget.acquire(100, "held")
        with pytest.raises(ApiError) as info:
            await budget.acquire(1, "x.png")
        assert info.value.status == 503 and info.value.code == "server_busy"
        assert "x.png" in info.value.detail and "serving.decode_memory_mb" in info.value.detail
        assert budget.used == 100 and not budget._waiters  # the timed-out waiter left nothing behind

    asyncio.run(run())


def test_a_reservation_over_the_budget_runs_alone():
    async def run():
        budget = MemoryBudget(100, setting="serving.test_mb", wait_s=0.05)
        async with budget.reserve(10**9, "huge") as taken:
            assert taken == 100
            with pytest.raises(ApiError):
                await budget.acquire(1, "other")
        assert budget.used == 0

    asyncio.run(run())


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="positive, got 0"):
        MemoryBudget(0, setting="serving.test_mb")


def test_a_request_cancelled_while_waiting_leaves_nothing_behind():
    async def run():
        budget = MemoryBudget(100, setting="serving.test_mb")
        held = await budget.acquire(100, "held")
        waiting = asyncio.create_task(budget.acquire(60, "gone"))
        await asyncio.sleep(0.01)
        waiting.cancel()  # the client went away
        with pytest.raises(asyncio.CancelledError):
            await waiting
        budget.release(held)
        assert budget.used == 0 and not budget._waiters
        # Granted and cancelled in the same turn of the loop: the grant is given back.
        held = await budget.acquire(100, "held")
        waiting = asyncio.create_task(budget.acquire(60, "granted then gone"))
        await asyncio.sleep(0.01)
        budget.release(held)  # grants the 60 to the waiter...
        waiting.cancel()  # ...which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert budget.used == 0 and not budget._waiters

    asyncio.run(run())


def test_room_goes_to_waiters_in_arrival_order():
    async def run():
        budget = MemoryBudget(100, setting="serving.test_mb")
        held = await budget.acquire(100, "held")
        order = []

        async def one(k):
            async with budget.reserve(40, f"w{k}"):
                order.append(k)
                await asyncio.sleep(0)

        tasks = [asyncio.create_task(one(k)) for k in range(5)]
        await asyncio.sleep(0.01)
        budget.release(held)
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4] and budget.used == 0

    asyncio.run(run())


def test_serving_memory_defaults_hold_the_largest_requests():
    # The largest image the defaults allow, and the largest batch body, each fit their budget:
    # neither has to run alone, and both budgets together stay within a 512 MB container.
    serving = Config().serving
    assert Config().input.max_pixels * BYTES_PER_PIXEL <= serving.decode_memory_mb * 2**20
    assert serving.max_batch_bytes * BODY_FACTOR <= serving.body_memory_mb * 2**20
    assert serving.decode_memory_mb + serving.body_memory_mb <= 256
