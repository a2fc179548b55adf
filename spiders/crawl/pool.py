"""Worker processes for the CPU work a crawl hands off, each fed over a pipe of its own.

`WorkerPool.submit(fn, *args, **kwargs)` runs `fn` (a function of an importable module) in
one of at most `workers` processes and returns a `concurrent.futures.Future`. An argument
wrapped in `pickle.PickleBuffer` (a page's body) is sent as it lies, not copied into the
pickle, and arrives as `bytes`. A worker is a
`python -c` started with subprocess: it reads tasks from its stdin and writes the answers
to its stdout, one task at a time, and a thread of this process belongs to each worker
(pickling a page's body and sending it happen there, never on the caller's thread).

Not `concurrent.futures.ProcessPoolExecutor`: started with `spawn` (a crawl process runs
threads, so never `fork`), multiprocessing starts its resource tracker, one more Python
process (12 MB RSS, bench/crawl.py) kept for the crawl's whole life, to unlink the named
semaphores of the executor's queues if the crawl dies; a pipe per worker needs none. And
when one of its workers dies the stock pool breaks as a whole: every task in it fails and
it refuses every later one. Here the task the worker was running fails (`WorkerDied`), and
the next task starts a new worker.

A worker is started when a task is waiting and every worker is busy, so a caller that
awaits each result before the next submit keeps one. It exits after `max_tasks_per_child`
tasks (a new one takes its place when needed), and by itself when this process dies, kill
-9 included: its stdin closes, and a thread of its own watches its parent.
"""
from __future__ import annotations

import collections
import importlib
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import BrokenExecutor, Future
from typing import IO, Any, Callable

from spiders.crawl.heap import map_large_allocations

_HEADER = struct.Struct("!QI")  # a message: its pickle's length and how many out-of-band buffers follow it
_BUFFER = struct.Struct("!Q")  # each buffer's length
# What a worker runs: this process's import path, then `serve`. Never the parent's __main__
# (spawn re-imports it in every child: the `docspasta` command's web app, or a benchmark's
# Scrapy, ~30 MB a worker that reads pages without any of it).
_BOOT = "import json, sys; sys.path[:] = json.loads(sys.stdin.buffer.readline()); " \
        "from spiders.crawl.pool import serve; serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])"


class WorkerDied(BrokenExecutor):
    """The worker process running the task exited before it answered (killed, out of memory)."""


def _send(stream: IO[bytes], data: bytes, buffers: list[pickle.PickleBuffer] = ()) -> None:
    """A pickle and its out-of-band buffers (a page's body, written from where it lies: no copy)."""
    stream.write(_HEADER.pack(len(data), len(buffers)))
    stream.write(data)
    for buffer in buffers:
        with buffer.raw() as raw:
            stream.write(_BUFFER.pack(raw.nbytes))
            stream.write(raw)
    stream.flush()


def _receive(stream: IO[bytes]) -> tuple[bytes, list[bytes]]:
    """The next pickle on `stream` and its buffers; EOFError when it ends first (its writer exited)."""
    header = _read(stream, _HEADER.size)
    size, count = _HEADER.unpack(header)
    data = _read(stream, size)
    return data, [_read(stream, _BUFFER.unpack(_read(stream, _BUFFER.size))[0]) for _ in range(count)]


def _read(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


def serve(parent: int, nice: int, initializer: str = "") -> None:
    """A worker's life: call `initializer` ("module:function", if any), then run the tasks its
    stdin brings until it closes (or the parent dies)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent says when to stop
    if nice:
        os.nice(nice)
    _exit_with_parent(parent)
    map_large_allocations()  # a big page's body, text and answer go back to the system once freed
    if initializer:
        module, _, name = initializer.partition(":")
        getattr(importlib.import_module(module), name)()
    tasks = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what a task prints goes to stderr, never into the answers
    sys.stdout = sys.stderr
    while True:
        try:
            task, buffers = _receive(tasks)
        except EOFError:
            return
        fn = args = kwargs = None
        try:
            fn, args, kwargs = pickle.loads(task, buffers=buffers)
            del task, buffers
            answer: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            exc.add_note("".join(traceback.format_exception(exc)).rstrip())  # where, in the worker
            answer = (False, exc)
        try:
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an answer that cannot be pickled
            data = pickle.dumps((False, RuntimeError(f"the worker's answer could not be sent back: {exc!r}")))
        del answer, fn, args, kwargs
        _send(answers, data)
        del data


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


class _Worker:
    def __init__(self, nice: int, initializer: str):
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(os.getpid()), str(nice), initializer],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        self.process.stdin.write(json.dumps(sys.path).encode() + b"\n")
        self.process.stdin.flush()
        self.tasks = 0

    def end(self) -> None:
        """Close its pipes and collect it (it exits at EOF on its stdin, if it has not died)."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            self.process.stdout.close()


class WorkerPool:
    def __init__(self, workers: int, *, max_tasks_per_child: int | None = None, nice: int = 0,
                 initializer: str = ""):
        """`initializer`: "module:function", called by each worker when it starts, before its first task."""
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self.max_workers = workers
        self.max_tasks_per_child = max_tasks_per_child
        self.nice = nice
        self.initializer = initializer
        self._lock = threading.Condition()
        self._queue: collections.deque[tuple[Future, Callable[..., Any], tuple, dict]] = collections.deque()
        self._workers: set[_Worker] = set()
        self._running = 0  # tasks handed to a worker and not yet answered
        self._shutdown = False

    @property
    def workers(self) -> int:
        """How many worker processes are alive."""
        with self._lock:
            return len(self._workers)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a pool that was shut down")
            self._queue.append((future, fn, args, kwargs))
            self._grow()
            self._lock.notify()
        return future

    def _grow(self) -> None:
        """A worker more if the tasks waiting and running outnumber the workers (under the lock)."""
        if len(self._queue) + self._running > len(self._workers) and len(self._workers) < self.max_workers:
            worker = _Worker(self.nice, self.initializer)
            self._workers.add(worker)
            threading.Thread(target=self._feed, args=(worker,), daemon=True,
                             name=f"docspasta-worker-{worker.process.pid}").start()

    def _feed(self, worker: _Worker) -> None:
        """One worker's thread: hand it the next task, wait for its answer, until it must go."""
        try:
            while True:
                with self._lock:
                    while not self._queue and not self._shutdown:
                        self._lock.wait()
                    if not self._queue:
                        return
                    if worker.process.poll() is not None:  # it died waiting: the task goes to another
                        return
                    future, fn, args, kwargs = self._queue.popleft()
                    if not future.set_running_or_notify_cancel():
                        continue
                    self._running += 1
                buffers: list[pickle.PickleBuffer] = []
                try:
                    data = pickle.dumps((fn, args, kwargs), 5, buffer_callback=buffers.append)
                except Exception as exc:  # noqa: BLE001 - the caller's task, not the worker, is at fault
                    self._answered(future, False, exc)
                    continue
                try:
                    _send(worker.process.stdin, data, buffers)
                    del data, buffers, args, kwargs
                    answer, _ = _receive(worker.process.stdout)
                except (OSError, EOFError):
                    code = worker.process.wait()
                    self._answered(future, False, WorkerDied(
                        f"the worker process (pid {worker.process.pid}) exited with {code} while running the task"))
                    return
                try:
                    ok, value = pickle.loads(answer)
                except Exception as exc:  # noqa: BLE001 - e.g. an exception class that cannot be rebuilt
                    ok, value = False, RuntimeError(f"the worker's answer could not be read: {exc!r}")
                del answer
                self._answered(future, ok, value)
                del value
                worker.tasks += 1
                if self.max_tasks_per_child and worker.tasks >= self.max_tasks_per_child:
                    return
        finally:
            worker.end()  # a dead one's pipes too
            with self._lock:
                self._workers.discard(worker)
                if not self._shutdown:
                    self._grow()  # the tasks left waiting get a worker again
                self._lock.notify_all()

    def _answered(self, future: Future, ok: bool, value: Any) -> None:
        with self._lock:
            self._running -= 1
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more tasks; the workers exit once they have answered (`wait`: and this waits for them).
        `cancel_futures`: the tasks not yet started are cancelled, not run."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
            self._lock.notify_all()
            if wait:
                self._lock.wait_for(lambda: not self._workers, timeout=60)
