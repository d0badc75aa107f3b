"""The processes the editions are written in: each writer in a process of its own that ends
with it, and the worker processes a writer hands its pieces to (:func:`parallel`).

:func:`run_all` knows nothing of formats: it runs numbered calls, some here (in the main
process, in order), the others in processes forked for them, and says each one's result as
it comes. :mod:`press.editions` says which call is which edition.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

from press import turns
from press.errors import BuildError, Problem

T = TypeVar("T")
_FORK = multiprocessing.get_context("fork")
_start_others: Callable[[bool], None] | None = None
"""Starts the calls that run away from the main process (see :func:`run_all`)."""
_telling: Callable[[str], None] | None = None
"""Where the call running in the main process says how far it has got (:func:`tell`)."""
_alone = False
"""Whether the calls away from the main process run alone (:func:`alone`)."""


def alone() -> bool:
    """Whether the call running (away from the main process) has the machine to itself: it
    started once the calls in the main process were done, and the others run after it
    (``one_by_one``: a long report's writers, after brief work in the main process)."""
    return _alone


def tell(text: str) -> None:
    """Said by a writer in the main process: how far it has got ("120 of 352 laid out")."""
    if _telling is not None:
        _telling(text)


def run_all(
    calls: list[Callable[[], T]],
    here: list[int],
    places: list[str],
    one_by_one: bool,
    on_done: Callable[[int, T], None] | None = None,
    on_progress: Callable[[int, str], None] | None = None,
) -> list[T]:
    """Each of ``calls``, concurrently; their results in order, each also told to
    ``on_done`` with its index as soon as it comes (from another thread for the calls
    run away from here). The calls of ``here`` run in this process, in order, and may hand
    pieces to workers (:func:`parallel`); the others run one per core, started at once, or if
    ``one_by_one`` one after another, started when one of those here has its pieces ready
    or, if ``brief``, is done (see :func:`parallel`), or at once if there is none (their
    memory grows with the report, and the pieces keep every core busy anyway: at x50 777 MiB
    at peak instead of 903-1,012, in the same time; at x1 0.3 s slower, so not for short
    reports). Started at once, a short report's take up what the PDF's print page leaves of
    the processor, and fork before it is made (the embedded report's cold build 1.80 -> 1.75
    s, median of 16 alternating runs, 13 of them faster; x10 the same, 7.84 s). Each runs
    in a process of its own that ends with it, so that none holds memory it no longer
    needs; they share what this process holds when they fork, never pickled (at x50, 300
    MiB less at peak), and ``gc.freeze()`` keeps those pages shared, not copied when the
    collector visits them. Helpers that take turns (:mod:`press.turns`) take them across all
    of them. At x50 the cold peak fell from 1,150 MiB to 620-690 with this.

    ``places`` names each call in the error that says its process ended without a word.
    ``on_progress`` is told, with its index, what a call running here says of its progress
    (:func:`tell`).
    """
    global _start_others, _telling, _alone
    done: dict[int, T] = {}

    def finished(index: int, result: T) -> None:
        done[index] = result
        if on_done:
            on_done(index, result)

    away = [i for i in range(len(calls)) if i not in here]
    runners: list[tuple[BaseProcess, Connection]] = []
    listeners: list[threading.Thread] = []
    failures: list[BaseException] = []

    def listen(process: BaseProcess, connection: Connection, share: list[int]) -> None:
        """What a runner sends, as it comes (this process does its own calls meanwhile)."""
        try:
            for index, result in _received(connection):
                finished(index, result)
            missing = [i for i in share if i not in done]
            if missing:  # the runner itself ended without a word
                process.join()
                raise _stopped(places[missing[0]], process.exitcode)
        except BaseException as exc:  # raised in the main thread when it is done
            failures.append(exc)

    def run(share: list[int], connection: Connection) -> None:
        """In a runner's process (its own process group, so that stopping it stops pandoc
        and LibreOffice too): each of ``share`` in a process forked for it, which takes its
        memory with it when it ends; what came of each sent back."""
        _worker_signals()
        os.setpgid(0, 0)
        for index in share:
            child = os.fork()
            if child == 0:
                os._exit(_sent(calls[index], connection, index))
            code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
            if code == 0:
                continue
            if code != 1:  # it did not get to say why
                connection.send((index, "failed", _stopped(places[index], code)))
            break
        connection.close()

    def start_others(brief: bool = False) -> None:
        global _start_others
        if brief and here and one_by_one:
            return  # when the calls here are done (see parallel)
        _start_others = None
        runs = 1 if here and one_by_one else os.cpu_count() or 1
        for share in (away[k::runs] for k in range(runs)):
            if share:
                process, ours = _forked(run, share)
                with contextlib.suppress(OSError):  # as it does itself: whichever is first
                    os.setpgid(process.pid, process.pid)
                runners.append((process, ours))
                listeners.append(threading.Thread(target=listen, args=(process, ours, share)))
                listeners[-1].start()

    _start_others = start_others
    gc.freeze()
    try:
        with turns.shared(_FORK.Lock(), release=one_by_one):
            if not one_by_one:
                start_others()
            for i in here:
                _telling = (lambda text, i=i: on_progress(i, text)) if on_progress else None
                finished(i, calls[i]())
            _telling = None
            if _start_others is not None:
                if here:  # the others waited for them: what they freed is handed back first
                    turns.release_memory()
                _alone = bool(here) and one_by_one
                _start_others(False)
            for listener in listeners:
                listener.join()
            if failures:
                raise failures[0]
    except BaseException:
        for process, _connection in runners:
            with contextlib.suppress(ProcessLookupError):  # an interrupted or failed build
                os.killpg(process.pid, signal.SIGTERM)  # stops every writer at once
        raise
    finally:
        for listener in listeners:
            listener.join()
        for process, connection in runners:
            process.join()
            connection.close()
        _start_others, _telling, _alone = None, None, False
        gc.unfreeze()
    return [done[i] for i in range(len(calls))]


@contextlib.contextmanager
def aside(call: Callable[[], object]) -> Iterator[None]:
    """``call()`` in a process forked for it while the block runs, on the processor time the
    block leaves (nice 19, the lowest: beside a PDF worker at nice 5 it takes a twentieth of
    a shared core, at nice 10 a quarter), and saying nothing: its output goes nowhere, what
    it raises is dropped. When the block ends the process is killed, done or not, with
    whatever it started (its own process group): it can leave nothing behind but whole
    results (the cache writes a file under another name and renames it)."""
    frozen = gc.get_freeze_count() > 0  # by run_all, for the processes it forks after this
    gc.freeze()  # the collector in the process leaves this one's objects alone: shared pages
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the test sees what it does, not its coverage)
        code = 1
        with contextlib.suppress(BaseException):
            os.setpgid(0, 0)
            os.nice(19)
            _worker_signals()
            nowhere = os.open(os.devnull, os.O_RDWR)
            for stream in (0, 1, 2):
                os.dup2(nowhere, stream)
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115  (until os._exit)
            call()
            code = 0
        os._exit(code)
    if not frozen:
        gc.unfreeze()
    with contextlib.suppress(OSError):  # as it does itself: whichever is first
        os.setpgid(pid, pid)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _forked(target: Callable[..., None], *args: Any) -> tuple[BaseProcess, Connection]:
    """A process forked to run ``target(*args, connection)``, which sends on
    ``connection`` what :func:`_received` reads; the process and the end to read from."""
    ours, theirs = _FORK.Pipe(duplex=False)
    process = _FORK.Process(target=target, args=(*args, theirs), daemon=True)
    process.start()
    theirs.close()
    return process, ours


def _sent(call: Callable[[], Any], connection: Connection, index: int) -> int:
    """``call()``, and what came of it sent as call ``index``'s: 0 if it returned, 1 if it
    raised."""
    try:
        connection.send((index, "done", call()))
        return 0
    except BaseException as exc:  # sent as it is (an OSError is the build's to report)
        text = "".join(traceback.format_exception(exc))
        try:
            connection.send((index, "failed", _Failure(exc, text)))
        except Exception:  # it does not pickle: its traceback, then
            connection.send((index, "failed", RuntimeError(text)))
    return 1


class _Failure:
    """An exception on its way from a writer's process, its traceback along as its cause."""

    def __init__(self, exc: BaseException, text: str) -> None:
        self.exc, self.text = exc, text

    def __reduce__(self) -> tuple[Callable[..., BaseException], tuple[BaseException, str]]:
        return (_with_cause, (self.exc, self.text))


def _with_cause(exc: BaseException, text: str) -> BaseException:
    exc.__cause__ = RuntimeError(f"in the writer's process:\n{text}")
    return exc


def _received(connection: Connection) -> Iterator[tuple[int, Any]]:
    """Each call's index and result as a forked process sends them (:func:`_sent`), until
    it closes its end; raises what a call raised."""
    while True:
        try:
            index, kind, value = connection.recv()
        except EOFError:
            return
        if kind == "failed":
            raise value
        yield index, value


def _stopped(place: str, code: int | None) -> BuildError:
    message = f"its writer stopped without a word (exit {code})"
    return BuildError([Problem(place, None, message, "edition.crashed")])


def _lean(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker, which then hands back to the system the memory the
    call freed if it was much (glibc keeps it: a 25-page contents left 100 MiB behind)."""
    before = _resident()
    result = function(*args)
    if _resident() - before > 32 * 2**20:
        turns.release_memory()
    return result


def _resident() -> int:
    """Bytes of this process in memory (0 where /proc does not say)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _yielding_worker() -> None:
    """A worker of :func:`parallel`: it yields the processor to the other writers, which
    are fewer and would otherwise finish last (the Word edition, at x1)."""
    _worker_signals()
    os.nice(5)


def _worker_signals() -> None:
    """Workers leave Ctrl-C to the main process, which stops them with SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def parallel(
    function: Callable[..., T],
    calls: list[tuple[Any, ...]],
    brief: bool = False,
    on_each: Callable[[], None] | None = None,
    meanwhile: Callable[[dict[int, T]], Callable[[], object] | None] | None = None,
    first: Callable[[], object] | None = None,
) -> list[T]:
    """``function(*args)`` for each of ``calls``, results in order: in worker processes (one
    per core but one, forked for these calls and ended with them) when a writer running in
    the main process asks, and here; else all here. Each process takes a call when it is
    free, the workers the next from the front (in the order given: the longest first, see
    :func:`press.editions.pdf._laid_out`), this one the next from the end, until none is
    left. None is handed a call before it is free: a pool that queued calls ahead left the
    seed's main process idle 0.9 s at the end, waiting for a worker slowed by the other
    writers to do the two it had queued. (The main process taking the longest first, which
    at x1 was faster still, kept 50-70 MiB more at the x50 peak.) The calls are not pickled
    (the workers are forked with them), their results are.

    The other writers start now, if they have not yet; unless ``brief`` (the calls are a
    small part of the writer's work, the rest of it cached) and the report is long: they
    then start when the writer is done. After an edit at x50, the PDF's join of its 351
    chapters (250 MiB) and the Word edition's pandoc (300) at once were the peak: 780-860
    MiB, 640 with this (the build 2 s longer, each edition's time the same).

    The main process is the other core's worker: one worker per core as well held 150 MiB
    more at x50 for no time saved (the other writers want the cores too). ``on_each`` is
    called as each call is done (from another thread for the workers').

    ``meanwhile`` is asked, with the results so far, when this process has no call left
    to take and a worker is still on one (a long bibliography, taken first), and again as
    each worker's result comes, until it answers: what to do until the workers are done,
    run :func:`aside` on the processor time they leave (then killed, done or not); or None,
    nothing yet. ``first`` is called here before this process takes a call, the workers
    taking theirs meanwhile."""
    if _start_others is not None:
        _start_others(brief)

    def done(result: T) -> T:
        if on_each:
            on_each()
        return result

    cores = os.cpu_count() or 1
    if len(calls) <= 1 or cores <= 1 or multiprocessing.parent_process() is not None:
        if first:
            first()
        return [done(function(*args)) for args in calls]
    left = _FORK.Array("i", [0, len(calls)])  # the calls no process has taken: [from, to)

    def take(first: bool) -> int | None:
        with left.get_lock():
            if left[0] == left[1]:
                return None
            if first:
                left[0] += 1
                return int(left[0] - 1)
            left[1] -= 1
            return int(left[1])

    def work(connection: Connection) -> None:
        _yielding_worker()
        while (index := take(first=True)) is not None:
            if _sent(functools.partial(_lean, function, *calls[index]), connection, index):
                break
        connection.close()

    results: dict[int, T] = {}
    failures: list[BaseException] = []
    arrived = threading.Event()  # a worker's result, for meanwhile

    def listen(process: BaseProcess, connection: Connection) -> None:
        try:
            for index, result in _received(connection):
                results[index] = done(result)
                arrived.set()
            process.join()
            if process.exitcode:
                raise RuntimeError(f"a worker stopped without a word (exit {process.exitcode})")
        except BaseException as exc:  # raised in the main thread when it is done
            failures.append(exc)
        finally:  # its end, too, for meanwhile's wait (which waited out its 0.1 s)
            arrived.set()

    workers: list[tuple[BaseProcess, Connection, threading.Thread]] = []
    try:
        for _ in range(min(cores - 1, len(calls) - 1)):
            process, ours = _forked(work)
            listener = threading.Thread(target=listen, args=(process, ours))
            listener.start()
            workers.append((process, ours, listener))
        if first:
            first()
        while (index := take(first=False)) is not None:
            results[index] = done(function(*calls[index]))
        with contextlib.ExitStack() as stack:
            while meanwhile and any(listener.is_alive() for _p, _c, listener in workers):
                arrived.clear()
                extra = meanwhile(dict(results))
                if extra:
                    stack.enter_context(aside(extra))
                    break
                arrived.wait(0.1)  # the next result (or the check that workers are left)
            for _process, _connection, listener in workers:
                listener.join()
        if failures:
            raise failures[0]
    except BaseException:
        for process, _connection, _listener in workers:
            process.terminate()
        raise
    finally:
        for process, connection, listener in workers:
            listener.join()
            process.join()
            connection.close()
    return [results[i] for i in range(len(calls))]
