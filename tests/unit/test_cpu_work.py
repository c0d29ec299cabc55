"""Small CPU work runs on the event loop; large work goes to the executor."""

import asyncio
import concurrent.futures
import threading

import pytest

from relay import cpu


@pytest.fixture


def executor():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="cpu-test")
    yield pool
    pool.shutdown(wait=True)



async def test_a_small_input_is_worked_on_the_loop(executor):
    loop_thread = threading.get_ident()
    assert await cpu.run(executor, cpu.INLINE_BYTES, threading.get_ident) == loop_thread



async def test_a_large_input_goes_to_the_executor_and_the_loop_runs_meanwhile(executor):
    release = threading.Event()
    ticks = []

    def slow() -> int:
        release.wait(10)
        return threading.get_ident()

    import asyncio

    job = asyncio.ensure_future(cpu.run(executor, cpu.INLINE_BYTES + 1, slow))
    for _ in range(3):
        await asyncio.sleep(0)
        ticks.append(1)  # the loop kept running while the large work waited
    assert not job.done() and len(ticks) == 3
    release.set()
    assert await job != threading.get_ident()



async def test_without_an_executor_everything_runs_inline():
    assert await cpu.run(None, 10**9, lambda x: x * 2, 21) == 42
