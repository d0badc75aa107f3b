"""The build cache: nothing changed, no work; a change rebuilds what depends on it."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from press import cache
from press.cli import main
from tests.conftest import ROOTS


def build(folder: Path, capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    assert main([str(folder), *args]) == 0
    return capsys.readouterr().out


def cached(out: str) -> dict[str, bool]:
    return {
        line.split()[0]: line.endswith("(cached)")
        for line in out.splitlines()
        if line.startswith("  ") and line.split()[0] in ("pdf", "docx", "html")
    }


def test_cache(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    first = build(folder, capsys)
    assert cached(first) == {"pdf": False, "docx": False, "html": False}
    stamps = {p.name: p.stat().st_mtime_ns for p in (folder / "output").iterdir()}

    # Nothing changed: no work at all, the editions untouched.
    again = build(folder, capsys)
    assert again.startswith("up to date: nothing changed since the last build")
    assert {p.name: p.stat().st_mtime_ns for p in (folder / "output").iterdir()} == stamps

    # A setting only the Word edition reads: only the DOCX is made again.
    report = folder / "report.yaml"
    report.write_text(report.read_text() + "docx:\n  toc-page-numbers: false\n")
    assert cached(build(folder, capsys)) == {"pdf": True, "docx": False, "html": True}

    # A paragraph edited, no citation changed: every edition follows it, and the citations
    # are not formatted again (no new citeproc result in the cache).
    runs = len(list((folder / ".cache" / "citeproc").iterdir()))
    outlook = folder / "content" / "02-outlook.md"
    outlook.write_text(outlook.read_text().replace("stay low", "stay lower"))
    assert cached(build(folder, capsys)) == {"pdf": False, "docx": False, "html": False}
    assert "stay lower" in (folder / "output" / "briefing.html").read_text()
    assert len(list((folder / ".cache" / "citeproc").iterdir())) == runs

    # A citation changed: citeproc runs again.
    outlook.write_text(
        outlook.read_text().replace("[@harbour-board; @okafor2021]", "[@okafor2021]")
    )
    build(folder, capsys)
    assert len(list((folder / ".cache" / "citeproc").iterdir())) == runs + 1

    # An edited edition in output/ is noticed: it is rebuilt (from the cache).
    (folder / "output" / "briefing.html").write_text("tampered")
    assert cached(build(folder, capsys)) == {"pdf": True, "docx": True, "html": True}
    assert "stay lower" in (folder / "output" / "briefing.html").read_text()

    # --no-cache rebuilds everything; clean removes the cache.
    assert cached(build(folder, capsys, "--no-cache")) == {
        "pdf": False,
        "docx": False,
        "html": False,
    }
    assert main(["clean", str(folder)]) == 0
    assert not (folder / ".cache").exists()


def test_stages_are_reported_as_they_end(tmp_path: Path) -> None:
    from press.build import Options, build

    seen: list[str] = []
    result = build(
        Options(ROOTS / "minimal", formats=["html"], output=tmp_path, cache=False,
                on_stage=lambda stage, seconds: seen.append(stage))
    )  # fmt: skip
    assert seen == ["read and parse", "citations", "editions", "parity check", "lint"]
    assert list(result.timings) == seen and all(s >= 0 for s in result.timings.values())


def test_the_cache_is_kept_under_its_limit(tmp_path: Path, capsys, monkeypatch) -> None:
    from press import cache

    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    outlook = folder / "content" / "02-outlook.md"
    for word in ("lower", "lowest"):
        build(folder, capsys)
        outlook.write_text(outlook.read_text().replace("stay low", f"stay {word}", 1))

    def files() -> list[Path]:
        return [p for p in (folder / ".cache").rglob("*") if p.is_file()]

    def size() -> int:
        return sum(p.stat().st_size for p in files())

    started = time.time_ns()
    build(folder, capsys)  # a third build: what it reads and writes is touched now
    used = sum(p.stat().st_size for p in files() if p.stat().st_mtime_ns >= started)
    before = size()
    monkeypatch.setattr(cache, "LIMIT", used)  # room for the last build's results alone
    (folder / "output" / "briefing.html").write_text("tampered")
    build(folder, capsys)  # the same build again, then the least recently used results go
    assert size() <= cache.LIMIT + (folder / ".cache" / "last-build.json").stat().st_size
    assert size() < before  # the earlier builds' results went
    # What the last build used is what was kept: its editions come from the cache.
    (folder / "output" / "briefing.html").write_text("tampered")
    assert cached(build(folder, capsys)) == {"pdf": True, "docx": True, "html": True}


def test_only_a_reports_files_are_read_to_tell_it_unchanged(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """A socket in the folder is not read (nor a pipe: it would wait for ever), a link is
    known by where it points; a folder that is no report is not read at all."""
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    (folder / "content" / "elsewhere").symlink_to(tmp_path / "outside.txt")
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(folder / "socket"))
        assert main([str(folder), "--format", "html", "-q"]) == 0
        assert main([str(folder), "--format", "html"]) == 0
        assert capsys.readouterr().out.startswith("up to date")
        (folder / "report.yaml").rename(folder / "other.yaml")
        monkeypatch.setattr(cache, "fingerprint", None)  # not called
        assert main([str(folder), "--format", "html"]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{folder / 'report.yaml'}: error: no report.yaml in this folder [config.missing]"
    )


def test_editions_are_reported_as_they_are_written(tmp_path: Path, monkeypatch) -> None:
    """Each edition is told as soon as it is written: the Word and HTML editions, written in
    processes of their own, while the PDF, written here, is not done yet."""
    from press.build import Options, build
    from press.editions import pdf

    seen: list[tuple[str, str]] = []
    others_done = threading.Event()

    def on_edition(fmt: str, style: str, seconds: float) -> None:
        seen.append((fmt, style))
        if {"docx", "html"} <= {f for f, _style in seen}:
            others_done.set()

    write = pdf.PdfEdition.write

    def pdf_waiting_for_the_others(self, job, target):  # type: ignore[no-untyped-def]
        detail = write(self, job, target)  # the others start while it lays out
        assert others_done.wait(60), "the other editions were not told while the PDF was open"
        return detail

    monkeypatch.setattr(pdf.PdfEdition, "write", pdf_waiting_for_the_others)
    build(Options(ROOTS / "minimal", output=tmp_path, cache=False, on_edition=on_edition))
    assert sorted(seen) == [("docx", "apa"), ("html", "apa"), ("pdf", "apa")]
    assert seen[-1] == ("pdf", "apa")


def test_without_a_terminal_each_stage_and_edition_is_a_line_as_it_ends(
    tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)  # its cache there, not in the repository
    out = build(folder, capsys, "--format", "html,pdf")
    lines = out.splitlines()
    stages = [line.split()[1:-2] for line in lines if line.startswith("  stage ")]
    assert [" ".join(s) for s in stages] == [
        "read and parse", "citations", "editions", "parity check", "lint"
    ]  # fmt: skip
    editions = [i for i, line in enumerate(lines) if line.startswith("    edition ")]
    stage = next(i for i, line in enumerate(lines) if line.startswith("  stage editions"))
    assert len(editions) == 2 and stage > max(editions)
    assert lines[-1].startswith("built 2 editions")


def test_the_pdf_tells_how_many_of_its_parts_are_laid_out(tmp_path: Path) -> None:
    from press.build import Options, build

    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    said: list[tuple[str, str, str]] = []
    options = Options(folder, formats=["pdf"], on_progress=lambda *told: said.append(told))
    build(options)
    total = len(said)  # the chapters and the front
    assert total >= 3 and {(fmt, style) for fmt, style, _text in said} == {("pdf", "apa")}
    assert sorted(text for _fmt, _style, text in said) == sorted(
        f"{n} of {total} laid out" for n in range(1, total + 1)
    )
    said.clear()
    build(options)
    assert said == []  # nothing laid out: the edition itself is cached


def test_on_one_core_all_is_written_here_and_told_the_same(tmp_path: Path, monkeypatch) -> None:
    from press.build import Options, build

    monkeypatch.setattr("press.editions.os.cpu_count", lambda: 1)
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    written: list[str] = []
    told: list[str] = []
    result = build(Options(folder, on_edition=lambda fmt, *_: written.append(fmt),
                           on_progress=lambda fmt, _style, text: told.append(text)))  # fmt: skip
    assert written == [w.format for w in result.written] and len(written) == 3
    assert told and told[-1] == f"{len(told)} of {len(told)} laid out"


def test_a_checked_section_is_not_walked_again_yet_says_the_same(tmp_path: Path, capsys) -> None:
    """A section with nothing to report and no image keeps its citations (keys and lines)
    in the cache; what depends on anything else is found as before: a key the bibliography
    has lost, at its line, and unsafe HTML in another section, at every build."""
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    (folder / "content" / "03-plain.md").write_text(
        "# Plain\n\nNo template here.\n\nAs shown [@harbour-board].\n\nAgain [@okafor2021].\n"
    )
    (folder / "content" / "04-odd.md").write_text('# Odd\n\n<span onclick="x()">odd</span>\n')
    said = "content/04-odd.md:3: warning: removed unsafe HTML"
    assert main([str(folder), "-q"]) == 0
    assert said in capsys.readouterr().err
    # 01 and 03; not 02-outlook.md (an image) nor 04-odd.md (unsafe HTML)
    assert len(list((folder / ".cache" / "checked").iterdir())) == 2

    report = folder / "report.yaml"
    report.write_text(report.read_text() + "docx:\n  toc-page-numbers: false\n")
    assert main([str(folder), "-q"]) == 0
    assert said in capsys.readouterr().err

    bibliography = folder / "sources.json"
    entries = [e for e in json.loads(bibliography.read_text()) if e["id"] != "okafor2021"]
    bibliography.write_text(json.dumps(entries))
    assert main([str(folder), "-q"]) != 0
    err = capsys.readouterr().err
    assert "content/03-plain.md:7: error: unknown citation key 'okafor2021'" in err
    assert "content/01-findings.md:4: error: unknown citation key 'okafor2021'" in err


def test_without_the_cache_each_edition_is_still_read_once(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """--no-cache keeps the build's results in its temporary folder, for itself: each writer
    reads its edition's text as it writes it (in its own process), and the parity check
    after the writers finds that reading there instead of reading the edition again. No
    stage's result is kept in the report folder (only the record of the build, for the next
    build's nothing-changed test)."""
    from press import extract

    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    reads = tmp_path / "reads"  # appended to by every process: the writers are forked

    def spy(name: str) -> Callable[..., extract.EditionText]:
        read = getattr(extract, name)

        def spied(*args: Any) -> extract.EditionText:
            with reads.open("a") as out:
                out.write(name + "\n")
            return read(*args)

        return spied

    for name in ("_read_html", "_read_docx", "_read_pdf"):
        monkeypatch.setattr(extract, name, spy(name))
    out = build(folder, capsys, "--no-cache")
    assert "checked: the editions agree" in out
    assert sorted(reads.read_text().split()) == ["_read_docx", "_read_html", "_read_pdf"]
    assert [p.name for p in (folder / ".cache").iterdir()] == ["last-build.json"]
