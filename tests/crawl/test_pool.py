"""The worker pool the crawl hands its pages to: real worker processes, killed for real."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import types

import psutil
import pytest

from spiders.crawl.pool import WorkerDied, WorkerPool


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _sleep_in(path: str, seconds: float) -> None:
    with open(path, "w") as out:
        out.write(str(os.getpid()))
    time.sleep(seconds)


def _fail(message: str) -> None:
    raise LookupError(message)


def _unpicklable() -> object:
    return lambda: None


def within(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def gone(pid: int) -> bool:
    def exited() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True
    return within(exited)


@pytest.fixture
def pool():
    pool = WorkerPool(2)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def test_a_task_runs_in_a_worker_and_its_error_comes_back_with_where_it_was_raised(pool):
    assert pool.submit(os.getpid).result(60) != os.getpid()
    with pytest.raises(LookupError, match="no such page") as raised:
        pool.submit(_fail, "no such page").result(60)
    assert "_fail" in "".join(getattr(raised.value, "__notes__", [])), "the worker's traceback is not in the error"
    only_here = types.ModuleType("docspasta_only_in_this_process")  # pickles here, cannot be imported there
    exec("def task():\n    return 1", only_here.__dict__)
    sys.modules[only_here.__name__] = only_here
    try:
        with pytest.raises(ModuleNotFoundError):
            pool.submit(only_here.task).result(60)
    finally:
        del sys.modules[only_here.__name__]
    with pytest.raises(RuntimeError, match="could not be sent back"):
        pool.submit(_unpicklable).result(60)
    assert pool.submit(sum, [1, 2, 3]).result(60) == 6, "the worker was lost to an answer it could not send"
    body = bytes(range(256)) * 8192  # a 2 MB page, sent from where it lies
    assert pool.submit(bytes.hex, pickle.PickleBuffer(body)).result(60) == body.hex()


def test_a_killed_worker_fails_only_its_own_task_and_the_next_task_gets_a_new_worker(pool, tmp_path):
    mark = tmp_path / "pid"
    slow = pool.submit(_sleep_in, str(mark), 30)
    other = pool.submit(_pid_after, 1)
    assert within(lambda: mark.exists() and mark.read_text())
    victim = int(mark.read_text())
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(WorkerDied, match=f"pid {victim}"):
        slow.result(60)
    assert other.result(60) != victim, "the task in the other worker failed with it"
    after = {pool.submit(_pid_after, 0.2).result(60) for _ in range(3)}
    assert victim not in after, "tasks after the death did not run"


def test_one_task_per_worker_when_asked_and_no_process_besides_the_workers():
    pool = WorkerPool(2, max_tasks_per_child=1)
    try:
        pids = [pool.submit(os.getpid).result(60) for _ in range(3)]
        assert len(set(pids)) == 3, "a worker ran a second task"
        assert all(gone(pid) for pid in pids[:2])
        children = psutil.Process().children(recursive=True)
        # multiprocessing's spawn would also start its resource tracker: a Python process more
        assert not [p for p in children if "resource_tracker" in " ".join(p.cmdline())]
    finally:
        pool.shutdown(wait=True)
    assert gone(pids[-1]), "a worker outlived its pool's shutdown"


def test_shutdown_cancels_the_waiting_tasks_and_the_workers_exit():
    pool = WorkerPool(1)
    running = pool.submit(_pid_after, 1)
    waiting = [pool.submit(_pid_after, 0) for _ in range(4)]
    assert within(running.running)
    pool.shutdown(wait=True, cancel_futures=True)
    worker = running.result(60)
    assert all(future.cancelled() for future in waiting)
    assert gone(worker) and pool.workers == 0
    with pytest.raises(RuntimeError):
        pool.submit(os.getpid)


def test_workers_exit_when_the_process_that_started_them_is_killed(tmp_path):
    script = tmp_path / "crawl.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from spiders.crawl.pool import WorkerPool

        pool = WorkerPool(2)
        first = pool.submit(time.sleep, 0.5)
        print(pool.submit(os.getpid).result(60), flush=True)
        time.sleep(600)
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        worker = int(parent.stdout.readline())
        workers = [p.pid for p in psutil.Process(parent.pid).children()]
        assert worker in workers and len(workers) == 2
    finally:
        parent.kill()
        parent.wait()
    assert all(gone(pid) for pid in workers), "a worker outlived the process that started it"
