"""How the editions are written side by side: each writer in a process of its own, the PDF's
chapters in workers and in the main process, pandoc and LibreOffice one at a time."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from press import editions, pandoc, turns, workers
from press.cli import main
from press.editions import EDITIONS
from press.resources import TOOL_ROOT
from press.workers import parallel

pytestmark = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: all in one process")


def _pid_of(number: int) -> tuple[int, int]:
    time.sleep(0.02)
    return number, os.getpid()


def test_parallel_keeps_the_order_and_the_main_process_takes_part() -> None:
    results = parallel(_pid_of, [(n,) for n in range(24)])
    assert [number for number, _pid in results] == list(range(24))
    pids = {pid for _number, pid in results}
    assert os.getpid() in pids  # it took calls no worker had started
    assert 2 <= len(pids) <= (os.cpu_count() or 1)  # one process per core, the main one too


def _slept(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_worker_is_handed_a_call_only_when_it_is_free() -> None:
    """The worker takes the first call (the longest, as the PDF orders its chapters); while
    it is busy with it, the main process does all the rest from the end: none was queued
    for the worker ahead (a pool did, and the main process sat idle at the end)."""
    if (os.cpu_count() or 1) != 2:
        pytest.skip("one worker: two cores")
    pids = parallel(_slept, [(2.0,), *[(0.05,)] * 8])
    assert pids[0] != os.getpid()
    assert pids[1:] == [os.getpid()] * 8


def _slept_then_wrote(seconds: float, path: Path) -> None:
    time.sleep(seconds)
    path.write_text(str(os.getpid()))


def test_what_can_be_done_meanwhile_runs_aside_until_the_workers_are_done(tmp_path) -> None:
    """When the main process has no call left and a worker is still on one, ``meanwhile`` is
    asked with the results so far; what it returns runs in a process aside, which is killed,
    done or not, when the workers are."""
    if (os.cpu_count() or 1) != 2:
        pytest.skip("one worker: two cores")
    asked: list[list[int]] = []

    def meanwhile(results: dict[int, int]) -> object:
        asked.append(sorted(results))
        quick, slow = tmp_path / "quick", tmp_path / "slow"
        return lambda: (_slept_then_wrote(0.1, quick), _slept_then_wrote(30, slow))

    started = time.monotonic()
    pids = parallel(_slept, [(2.0,), *[(0.05,)] * 4], meanwhile=meanwhile)
    assert time.monotonic() - started < 10  # not waiting for the call aside
    assert asked == [[1, 2, 3, 4]]  # the worker's call not done yet
    done = int((tmp_path / "quick").read_text())
    assert done not in (os.getpid(), *pids)
    assert not (tmp_path / "slow").exists()
    time.sleep(0.2)
    assert not Path(f"/proc/{done}").exists()  # killed, and waited for


def test_a_writer_that_dies_fails_the_build_with_its_name(
    copy_root, tmp_path, monkeypatch, capsys
) -> None:
    folder = copy_root()
    assert main([str(folder), "-q"]) == 0
    before = {p.name: p.read_bytes() for p in (folder / "output").iterdir()}
    monkeypatch.setattr(type(EDITIONS["docx"]), "write", lambda *_args: os._exit(3))
    pipes = set(Path("/tmp").glob(f"OSL_PIPE_{os.getuid()}_*"))
    assert main([str(folder), "-q", "--no-cache"]) == 1
    assert set(Path("/tmp").glob(f"OSL_PIPE_{os.getuid()}_*")) <= pipes  # LibreOffice stopped
    err = capsys.readouterr().err
    expected = "docx edition: error: its writer stopped without a word (exit 3) [edition.crashed]"
    assert expected in err
    assert {p.name: p.read_bytes() for p in (folder / "output").iterdir()} == before


def test_a_bug_in_a_writer_shows_where_it_happened(copy_root, monkeypatch, capsys) -> None:
    def broken(*_args: object) -> str:
        raise ZeroDivisionError("no pages")

    monkeypatch.setattr(type(EDITIONS["html"]), "write", broken)
    assert main([str(copy_root()), "-q", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "in the writer's process" in err and "in broken" in err
    assert "ZeroDivisionError: no pages" in err
    assert "internal error: this is a bug in press" in err


def _version_after(lock: multiprocessing.synchronize.Lock, out: multiprocessing.Queue) -> None:
    with turns.shared(lock):
        pandoc.run(["--version"], b"", place="test")
    out.put(time.monotonic())


def test_pandoc_runs_wait_their_turn() -> None:
    context = multiprocessing.get_context("fork")
    lock, out = context.Lock(), context.Queue()
    with lock:  # another run holds the turn
        process = context.Process(target=_version_after, args=(lock, out))
        process.start()
        time.sleep(0.5)
        released = time.monotonic()
    finished = out.get(timeout=30)
    process.join()
    assert finished > released


def test_beside_the_pdf_of_a_long_report_the_other_writers_take_turns(
    monkeypatch, tmp_path
) -> None:
    """For a short report the Word and HTML writers run side by side; for a long one, one
    after the other (their memory grows with the report)."""
    spans = tmp_path / "spans"

    def write(name: str, job: object, target: object) -> str:
        if name == "pdf":
            parallel(_pid_of, [(n,) for n in range(3)])
            return name
        start = time.monotonic()
        time.sleep(0.5)
        with spans.open("a") as out:
            out.write(f"{start} {time.monotonic()}\n")
        return name

    monkeypatch.setattr(editions, "_write_or_reuse", write)
    monkeypatch.setattr(editions, "_ahead", lambda name, job: contextlib.nullcontext())
    for blocks, side_by_side in ((50, True), (editions.LONG_REPORT + 1, False)):
        spans.unlink(missing_ok=True)
        document = SimpleNamespace(blocks=[{}] * blocks, digest="", headings=())
        job = SimpleNamespace(document=document, long=blocks > editions.LONG_REPORT)
        tasks = [(name, job, tmp_path / name) for name in ("pdf", "docx", "html")]
        assert [detail for detail, _s in editions.write_all(tasks)] == ["pdf", "docx", "html"]
        lines = spans.read_text().splitlines()
        (_start, first_end), (second_start, _end) = sorted(
            (float(a), float(b)) for a, b in (line.split() for line in lines)
        )
        assert (second_start < first_end) == side_by_side


def test_weasyprint_loads_in_the_background_and_before_any_fork() -> None:
    script = (
        "import sys\n"
        "from press import editions\n"
        "assert 'weasyprint' not in sys.modules  # not with the modules that read the report\n"
        "editions.preload(['html', 'pdf'])\n"
        "editions.write_all([])\n"
        "assert 'weasyprint' in sys.modules and not editions._loading  # loaded, waited for\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=TOOL_ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def test_after_brief_work_on_a_long_pdf_the_other_writers_wait_for_it(
    monkeypatch, tmp_path
) -> None:
    """An edit to a long report: the PDF's few new chapters, then its join. The Word and HTML
    writers start when it is done (their pandoc and the join at once were the peak), unless
    the report is short or the PDF's work is long; then, and only then, each runs alone (the
    Word edition starts LibreOffice early, and its pandoc needs no compacted heap)."""
    marks = tmp_path / "marks"

    def write(name: str, job: object, target: object) -> str:
        if name == "pdf":
            parallel(_pid_of, [(1,)], brief=job.brief)  # type: ignore[attr-defined]
            time.sleep(0.5)  # the join
        with marks.open("a") as out:
            out.write(f"{name} {time.monotonic()} {workers.alone()}\n")
        return name

    monkeypatch.setattr(editions, "_write_or_reuse", write)
    monkeypatch.setattr(editions, "_ahead", lambda name, job: contextlib.nullcontext())
    for blocks, brief, waited in (
        (editions.LONG_REPORT + 1, True, True),
        (editions.LONG_REPORT + 1, False, False),
        (50, True, False),
    ):
        marks.unlink(missing_ok=True)
        document = SimpleNamespace(blocks=[{}] * blocks, digest="", headings=())
        job = SimpleNamespace(document=document, brief=brief, long=blocks > editions.LONG_REPORT)
        tasks = [(name, job, tmp_path / name) for name in ("pdf", "docx", "html")]
        assert [detail for detail, _s in editions.write_all(tasks)] == ["pdf", "docx", "html"]
        marked = {
            name: (float(end), alone)
            for name, end, alone in map(str.split, marks.read_text().splitlines())
        }
        first_other = min(marked["docx"][0], marked["html"][0])
        assert (first_other > marked["pdf"][0]) == waited, (blocks, brief)
        assert [marked[name][1] for name in ("pdf", "docx", "html")] == [
            "False",
            *[str(waited)] * 2,
        ]


def test_a_build_leaves_nothing_in_the_temporary_folder(copy_root, tmp_path, monkeypatch) -> None:
    """Not even what its worker processes' libraries left there (WeasyPrint copies the fonts,
    5.8 MB, into a folder of its own in each process that lays out a chapter)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setenv("TMPDIR", str(temporary))
    folder = copy_root("embedded")
    assert main([str(folder), "-q"]) == 0
    assert len(list((folder / "output").iterdir())) == 3
    assert list(temporary.iterdir()) == []
    assert tempfile.gettempdir() == os.environ["TMPDIR"] == str(temporary)


def test_a_call_aside_leaves_the_objects_frozen_as_it_found_them() -> None:
    """Frozen (by run_all, so that the processes it forks share the pages of what they
    inherit), they stay frozen after a call aside; not frozen, not."""
    with workers.aside(lambda: None):
        pass
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with workers.aside(lambda: None):
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
