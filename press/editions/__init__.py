"""One writer per format behind one small interface, registered by name.

A writer takes the one processed :class:`~press.citations.Document` (inside a
:class:`Job`) and writes its edition to the path it is given; it never runs
citeproc again. Adding a format means one module and one line in ``EDITIONS``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import importlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol, TypeVar

from press import cache, office, turns
from press.citations import Document
from press.config import Config
from press.design import Design
from press.errors import BuildError, Problem, captured, problems_in
from press.resources import TOOL_ROOT

log = logging.getLogger("press")
T = TypeVar("T")
Written = tuple[str, list[Problem], float]
LONG_REPORT = 1000
"""Top-level blocks (paragraphs, headings, lists...) from which a report is long: about 200
pages (the embedded report has 50 in 14)."""
_FORK = multiprocessing.get_context("fork")
_tasks: list[tuple[str, Job, Path]] = []
"""The editions being written, for the processes forked with them (see :func:`write_all`)."""
_start_others: Callable[[bool], None] | None = None
"""Starts the writers that do not split their work (see :func:`write_all`)."""
_telling: Callable[[str], None] | None = None
"""Where the writer running in the main process says how far it has got (:func:`tell`)."""


def tell(text: str) -> None:
    """Said by a writer in the main process: how far it has got ("120 of 352 laid out")."""
    if _telling is not None:
        _telling(text)


@dataclass(frozen=True)
class Job:
    """Everything a writer may use: the settings, the processed document, the design."""

    config: Config
    document: Document
    design: Design


class Edition(Protocol):
    name: str
    suffix: str
    splits: bool
    """Whether the writer divides its own work with :func:`parallel` (it then runs in the
    main process while the other writers run in processes of their own)."""
    libraries: tuple[str, ...]
    """Modules the writer imports when it runs that take long to import (:func:`preload`)."""

    def write(self, job: Job, target: Path) -> str:
        """Write the edition to ``target`` (a staging path; the caller renames it).

        Returns a few words on what was written, such as ``24 pages``.
        """
        ...


_loading: list[threading.Thread] = []


def preload(formats: Iterable[str]) -> None:
    """Import the libraries of the editions to be written in the background, while the
    report is read and parsed (WeasyPrint parses its C declarations: 0.4 s).
    :func:`write_all` waits for them before it forks (a process forked while another thread
    imports would find the import locks held)."""
    for name in formats:
        for module in EDITIONS[name].libraries:
            if module not in sys.modules:
                thread = threading.Thread(target=_imported, args=(module,))
                thread.start()
                _loading.append(thread)


_FINDING = threading.Lock()


def _imported(module: str) -> None:
    """Import ``module``, shared libraries looked up in ldconfig's cache alone while it does
    (Linux). WeasyPrint tries each library under several names, and for every name that
    does not load cffi asks ctypes, which, when the cache has no such name, runs gcc and ld
    to look: 16 links, 0.3 s of CPU, while the report is read. Should a library be found
    only that way (no ldconfig cache), the import runs again with ctypes' full search."""
    import ctypes.util

    cached = getattr(ctypes.util, "_findSoname_ldconfig", None)
    if not sys.platform.startswith("linux") or cached is None:
        importlib.import_module(module)
        return
    with _FINDING:
        searching = ctypes.util.find_library
        ctypes.util.find_library = cached
        try:
            importlib.import_module(module)
            return
        except OSError:
            pass
        finally:
            ctypes.util.find_library = searching
    importlib.import_module(module)


def write_all(
    tasks: list[tuple[str, Job, Path]],
    on_written: Callable[[int, float], None] | None = None,
    on_progress: Callable[[int, str], None] | None = None,
) -> list[tuple[str, float]]:
    """Write editions (format, job, target) concurrently; their details and the seconds each
    took. ``on_written`` is told each task's index and seconds as soon as it is written (from
    another thread for the writers in processes of their own), ``on_progress`` what a writer
    in the main process tells of its progress (:func:`tell`).

    The writers share nothing but the processed document they are given, so a cold build
    costs little more than its slowest writer. A writer that ``splits`` its work (the PDF, by
    chapter) runs here and hands its pieces to worker processes (:func:`parallel`); the others
    start once it has its pieces ready (its own pandoc run is on the critical path), or, for
    a long report whose pieces are mostly cached, once it is done (:func:`parallel`); one per
    core, or for a long report one after another: their memory grows with the report, and
    its chapters keep every core busy anyway (x50: 777 MiB at peak instead of 903-1,012 when
    measured, in the same time; x1: 0.3 s slower, so not for short ones). Each writer runs
    in a process of its own that ends with it, so that none holds memory it no longer needs,
    and none walks the shared document (see :attr:`Document.json`); pandoc and LibreOffice
    take turns (:mod:`press.turns`). At x50 the cold peak fell from 1,150 MiB to 620-690.
    Warnings logged in a process are logged again here; a problem in any writer fails the
    build.
    """
    global _tasks, _start_others, _telling
    while _loading:
        _loading.pop().join()
    done: dict[int, Written] = {}

    def written(index: int, result: Written) -> None:
        done[index] = result
        if on_written:
            on_written(index, result[2])

    def telling(index: int) -> Callable[[str], None] | None:
        return (lambda text: on_progress(index, text)) if on_progress else None

    one_core = (os.cpu_count() or 1) <= 1  # then every writer here, one after the other
    here = [i for i, (name, _job, _target) in enumerate(tasks) if EDITIONS[name].splits or one_core]
    away = [i for i in range(len(tasks)) if i not in here]
    runners: list[tuple[BaseProcess, Connection, list[int]]] = []
    listeners: list[threading.Thread] = []
    failures: list[BaseException] = []

    def listen(process: BaseProcess, connection: Connection, share: list[int]) -> None:
        """What a runner sends, as it comes (the main process lays out the PDF meanwhile)."""
        try:
            for index, result in _received(process, connection, share):
                written(index, result)
        except BaseException as exc:  # raised in the main thread when it is done
            failures.append(exc)

    long = any(len(job.document.blocks) > LONG_REPORT for _name, job, _target in tasks)

    def start_others(brief: bool = False) -> None:
        global _start_others
        if brief and here and long:
            return  # when the writers here are done (see parallel)
        _start_others = None
        runs = 1 if here and long else os.cpu_count() or 1
        for share in (away[k::runs] for k in range(runs)):
            if share:
                ours, theirs = _FORK.Pipe(duplex=False)
                process = _FORK.Process(target=_run, args=(share, theirs), daemon=True)
                process.start()
                with contextlib.suppress(OSError):  # as it does itself: whichever is first
                    os.setpgid(process.pid, process.pid)
                theirs.close()
                runners.append((process, ours, share))
                listeners.append(threading.Thread(target=listen, args=(process, ours, share)))
                listeners[-1].start()

    # Forked with the tasks in memory, told only which to do: the processed document is not
    # pickled into each (at x50, 300 MiB saved at peak); gc.freeze() keeps the pages they
    # inherit shared, not copied when the collector visits them.
    _tasks, _start_others = tasks, start_others
    for _name, job, _target in tasks:  # made here, once, not in each writer's process
        job.document.digest, job.document.headings  # noqa: B018
    gc.freeze()
    try:
        with turns.shared(_FORK.Lock()):
            for i in here:
                _telling = telling(i)
                written(i, _write(*tasks[i]))
            _telling = None
            if _start_others is not None:
                if here:  # the others waited for them: what they freed is handed back first
                    turns.release_memory()
                _start_others(False)
            for listener in listeners:
                listener.join()
            if failures:
                raise failures[0]
    except BaseException:
        for process, _connection, _share in runners:
            with contextlib.suppress(ProcessLookupError):  # an interrupted or failed build
                os.killpg(process.pid, signal.SIGTERM)  # stops every writer at once
        raise
    finally:
        for listener in listeners:
            listener.join()
        for process, connection, _share in runners:
            process.join()
            connection.close()
        _tasks, _start_others, _telling = [], None, None
        gc.unfreeze()
    results = [done[i] for i in range(len(tasks))]
    for _detail, warnings, _seconds in results:
        for problem in warnings:
            log.warning(problem)
    return [(detail, seconds) for detail, _warnings, seconds in results]


def _run(share: list[int], connection: Connection) -> None:
    """In a runner's process (its own process group, so that stopping it stops pandoc and
    LibreOffice too): each of ``share`` written in a process forked for it, which takes its
    memory with it when it ends; what came of each sent back."""
    _worker_signals()
    os.setpgid(0, 0)
    for index in share:
        child = os.fork()
        if child == 0:
            os._exit(_send(index, connection))
        code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        if code == 0:
            continue
        if code != 1:  # it did not get to say why
            connection.send(("failed", _stopped(index, code)))
        break
    connection.close()


def _send(index: int, connection: Connection) -> int:
    """Write edition ``index`` and send what came of it: 0 if written, 1 if it failed."""
    try:
        connection.send(("done", _write(*_tasks[index])))
        return 0
    except BaseException as exc:  # sent as it is (an OSError is the build's to report)
        text = "".join(traceback.format_exception(exc))
        try:
            connection.send(("failed", _Failure(exc, text)))
        except Exception:  # it does not pickle: its traceback, then
            connection.send(("failed", RuntimeError(text)))
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


def _received(
    process: BaseProcess, connection: Connection, share: list[int]
) -> Iterator[tuple[int, Written]]:
    """What a writer's process sends back for each of ``share``, as it comes; raises what it
    raised."""
    for index in share:
        try:
            kind, value = connection.recv()
        except EOFError:
            process.join()
            raise _stopped(index, process.exitcode) from None
        if kind == "failed":
            raise value  # type: ignore[misc]
        yield index, value  # type: ignore[misc]


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


def _stopped(index: int, code: int | None) -> BuildError:
    message = f"its writer stopped without a word (exit {code})"
    return BuildError([Problem(f"{_tasks[index][0]} edition", None, message, "edition.crashed")])


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
) -> list[T]:
    """``function(*args)`` for each of ``calls``, results in order: in worker processes (one
    per core but one, forked for these calls and ended with them) when a writer running in
    the main process asks, and here, from the end of the queue, for the calls no worker has
    taken yet; else all here. The other writers start now, if they have not yet; unless
    ``brief`` (the calls are a small part of the writer's work, the rest of it cached) and the
    report is long: they then start when the writer is done. After an edit at x50, the PDF's
    join of its 351 chapters (250 MiB) and the Word edition's pandoc (300) at once were the
    peak: 780-860 MiB, 640 with this (the build 2 s longer, each edition's time the same).

    The main process is the other core's worker: one worker per core as well held 150 MiB
    more at x50 for no time saved (the other writers want the cores too). ``on_each`` is
    called as each call is done (from another thread for the workers')."""
    if _start_others is not None:
        _start_others(brief)

    def done(result: T) -> T:
        if on_each:
            on_each()
        return result

    cores = os.cpu_count() or 1
    if len(calls) <= 1 or cores <= 1 or multiprocessing.parent_process() is not None:
        return [done(function(*args)) for args in calls]
    pool = ProcessPoolExecutor(min(cores - 1, len(calls)), mp_context=_FORK,
                               initializer=_yielding_worker)  # fmt: skip
    try:
        futures = [pool.submit(_lean, function, *args) for args in calls]
        for future in futures:
            future.add_done_callback(lambda f: f.cancelled() or f.exception() or done(None))
        here = {i: done(function(*calls[i]))
                for i in reversed(range(len(calls))) if futures[i].cancel()}  # fmt: skip
        results = [here[i] if i in here else futures[i].result() for i in range(len(calls))]
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def _write(name: str, job: Job, target: Path) -> tuple[str, list[Problem], float]:
    """Write one edition, returning its detail, the warnings it logged and its seconds."""
    started = time.perf_counter()
    in_worker = multiprocessing.parent_process() is not None
    with captured(only_here=True) if in_worker else nullcontext([]) as records:
        detail = _write_or_reuse(name, job, target)
    return detail, problems_in(records), time.perf_counter() - started


def _write_or_reuse(name: str, job: Job, target: Path) -> str:
    store = cache.active()
    digest = cache.key("edition", name, job.document.digest, _settings_for(name, job.config),
                       repr(job.design), _report_resources(job.config),
                       bool(office.command()))  # fmt: skip
    hit = store.get("editions", digest)
    if hit is not None:
        detail, _, data = hit.partition(b"\n")
        target.write_bytes(data)  # what it is, not how it was made then ("8 new chapters")
        return detail.decode().split(", ")[0] + " (cached)"
    detail = EDITIONS[name].write(job, target)
    store.put("editions", digest, detail.encode() + b"\n" + target.read_bytes())
    return detail


# The report.yaml sections an edition does not read, so changing them leaves it cached.
UNREAD = {"html": {"pdf", "docx", "page"}, "pdf": {"docx"}, "docx": set()}
NAMES_ONLY = {"formats", "citation_styles", "output", "sections", "bibliography"}


def _settings_for(name: str, config: Config) -> str:
    values = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in UNREAD.get(name, set()) | NAMES_ONLY
    }
    return repr(sorted(values.items()))


def _report_resources(config: Config) -> list[tuple[str, str]]:
    """Hashes of the report's own styles, templates and logo: what editions read besides the
    processed document (the tool's own are part of every cache key already)."""
    found = []
    for folder in (config.folder / "styles", config.folder / "templates"):
        if folder.is_dir() and folder.resolve() != (TOOL_ROOT / folder.name).resolve():
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                found.append((path.as_posix(), hashlib.sha256(path.read_bytes()).hexdigest()))
    if config.logo is not None and config.logo.is_file():
        found.append(("logo", hashlib.sha256(config.logo.read_bytes()).hexdigest()))
    return found


def _registry() -> dict[str, Edition]:
    from press.editions.docx import DocxEdition
    from press.editions.html import HtmlEdition
    from press.editions.pdf import PdfEdition

    editions: dict[str, Edition] = {}
    for edition in (PdfEdition(), DocxEdition(), HtmlEdition()):
        if edition.name in editions:
            raise ValueError(f"edition '{edition.name}' registered twice")
        editions[edition.name] = edition
    return editions


EDITIONS: dict[str, Edition] = _registry()
