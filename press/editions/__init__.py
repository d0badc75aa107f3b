"""One writer per format behind one small interface, registered by name.

A writer takes the one processed :class:`~press.citations.Document` (inside a
:class:`Job`) and writes its edition to the path it is given; it never runs
citeproc again. Adding a format means one module and one line in ``EDITIONS``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from press import cache, office, workers
from press.citations import Document, Rehearsal
from press.config import Config
from press.design import Design
from press.errors import Problem, captured, problems_in
from press.resources import TOOL_ROOT

log = logging.getLogger("press")

LONG_REPORT = 1000
"""Top-level blocks (paragraphs, headings, lists...) from which a report is long: about 200
pages (the embedded report has 50 in 14)."""


@dataclass(frozen=True)
class Job:
    """Everything a writer may use: the settings, the processed document, the design."""

    config: Config
    document: Document
    design: Design

    @property
    def long(self) -> bool:
        """Whether the report is long (:data:`LONG_REPORT`): then what would run beside the
        other writers is left to when it is needed, for memory."""
        return len(self.document.blocks) > LONG_REPORT


class Edition(Protocol):
    name: str
    suffix: str
    splits: bool
    """Whether the writer divides its own work with :func:`press.workers.parallel` (it then
    runs in the main process while the other writers run in processes of their own)."""
    libraries: tuple[str, ...]
    """Modules the writer imports when it runs that take long to import (:func:`preload`)."""

    def write(self, job: Job, target: Path) -> str:
        """Write the edition to ``target`` (a staging path; the caller renames it).

        Returns a few words on what was written, such as ``24 pages``.
        """
        ...

    def ahead(self, job: Job) -> AbstractContextManager[None]:
        """Entered in the main process before the writers start, for an edition that is not
        in the cache, and left when they are done: a helper program the writer will need,
        started early so that it is ready when asked (the writers' processes share it)."""
        ...

    def rehearse(self, job: Job) -> None:
        """Do ahead, from a draft of the processed document, what :meth:`write` will find in
        the cache if the real document comes out the same there (:func:`rehearsal`)."""
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


def _loaded() -> None:
    """Wait for the libraries :func:`preload` imports: a process forked while another thread
    imports would find the import locks held."""
    while _loading:
        _loading.pop().join()


def rehearsal(config: Config, design: Design) -> Rehearsal | None:
    """The editions rehearsed from a draft of the processed document while citeproc makes the
    real one (:func:`press.citations.resolve`): each writer's :meth:`Edition.rehearse`, in a
    process aside on the core citeproc leaves free, which makes the draft itself (this
    process's memory stays as it was) and is stopped when the real document comes
    (:func:`press.workers.aside`). What it lays out is in the cache, where the writers find
    what came out the same. None on one core: nothing is left free there, not even for the
    draft."""
    if (os.cpu_count() or 1) < 2:
        return None

    def rehearse(draft: Callable[[], Document]) -> AbstractContextManager[None]:
        _loaded()

        def run() -> None:
            job = Job(config, draft(), design)
            for name in config.formats:
                EDITIONS[name].rehearse(job)

        return workers.aside(run)

    return rehearse


def write_all(
    tasks: list[tuple[str, Job, Path]],
    on_written: Callable[[int, float], None] | None = None,
    on_progress: Callable[[int, str], None] | None = None,
) -> list[tuple[str, float]]:
    """Write editions (format, job, target) concurrently (:func:`press.workers.run_all`);
    their details and the seconds each took. ``on_written`` is told each task's index and
    seconds as soon as it is written (from another thread for the writers in processes of
    their own), ``on_progress`` what a writer in the main process tells of its progress
    (:func:`~press.workers.tell`).

    The writers share nothing but the processed document they are given, so a cold build
    costs little more than its slowest writer. A writer that ``splits`` its work (the PDF, by
    chapter) runs in the main process and hands its pieces to workers; the others each in a
    process of its own, one per core, or for a long report one after another; none walks
    the shared document (its JSON, digest and headings are made here, once, before they
    fork: see :attr:`Document.json`). What a writer starts ahead (:meth:`Edition.ahead`)
    starts here first. Warnings logged in a process are logged again here; a problem in any
    writer fails the build.
    """
    _loaded()
    one_core = (os.cpu_count() or 1) <= 1  # then every writer here, one after the other
    for _name, job, _target in tasks:
        job.document.digest, job.document.headings  # noqa: B018

    def done(index: int, result: tuple[str, list[Problem], float]) -> None:
        if on_written:
            on_written(index, result[2])

    with ExitStack() as helpers:
        for name, job, _target in tasks:
            helpers.enter_context(_ahead(name, job))
        results = workers.run_all(
            [functools.partial(_write, *task) for task in tasks],
            here=[i for i, (name, _j, _t) in enumerate(tasks) if EDITIONS[name].splits or one_core],
            places=[f"{name} edition" for name, _job, _target in tasks],
            one_by_one=any(job.long for _n, job, _t in tasks),
            on_done=done,
            on_progress=on_progress,
        )
    for _detail, warnings, _seconds in results:
        for problem in warnings:
            log.warning(problem)
    return [(detail, seconds) for detail, _warnings, seconds in results]


def _ahead(name: str, job: Job) -> AbstractContextManager[None]:
    """What the writer starts ahead (:meth:`Edition.ahead`), unless its edition is cached."""
    if cache.active().has("editions", _edition_key(name, job)):
        return nullcontext()
    return EDITIONS[name].ahead(job)


def _write(name: str, job: Job, target: Path) -> tuple[str, list[Problem], float]:
    """Write one edition, returning its detail, the warnings it logged and its seconds."""
    started = time.perf_counter()
    in_worker = multiprocessing.parent_process() is not None
    with captured(only_here=True) if in_worker else nullcontext([]) as records:
        detail = _write_or_reuse(name, job, target)
    return detail, problems_in(records), time.perf_counter() - started


def _edition_key(name: str, job: Job) -> str:
    """What an edition is kept under in the cache: everything its writer reads."""
    return cache.key("edition", name, job.document.digest, _settings_for(name, job.config),
                     repr(job.design), _report_resources(job.config),
                     bool(office.command()))  # fmt: skip


def _write_or_reuse(name: str, job: Job, target: Path) -> str:
    store = cache.active()
    digest = _edition_key(name, job)
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
