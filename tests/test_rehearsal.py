"""The rehearsal: while a long report's citeproc runs, the PDF's chapters are laid out from a
draft of the citations (the style without given-name disambiguation) into the cache, and the
real pass takes from it what came out the same; before that draft, and where there is none,
the front's first try from the report's outline. The editions are always the real ones.

The embedded report is short (under :data:`~press.citations.LONG_CITEPROC` citations), so
these tests lower the threshold; its citeproc is quick, so most of them run the rehearsal in
the build's own process, to the end, rather than in a process killed when citeproc ends.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from press import cache, citations, editions, givennames, workers
from press.build import Options, build, citation_locale, prepare
from press.design import load_design
from press.editions import Job, pdf, pdfparts
from press.extract import from_pdf, print_reading
from press.styles import CSL_NS, resolve_style, without_given_names
from tests.conftest import embedded_copy


@contextlib.contextmanager
def in_here(call: Callable[[], object], rehearsing: list[bool] | None = None) -> Iterator[None]:
    """The rehearsal run to its end in this process, before citeproc's result is taken
    (``rehearsing[0]`` true meanwhile)."""
    if rehearsing is not None:
        rehearsing[0] = True
    call()
    if rehearsing is not None:
        rehearsing[0] = False
    yield


def pdf_built(folder: Path, output: Path) -> tuple[str, list[str]]:
    """The PDF edition built without the cache: its detail line and its paragraphs."""
    result = build(Options(folder=folder, output=output, formats=["pdf"], cache=False))
    written = result.written[0]
    reading = print_reading(result.config, load_design(folder))
    return written.detail, from_pdf(written.path, reading).paragraphs


@pytest.fixture
def long(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A copy of the embedded report, counted as long, whose citations are taken not to
    render alike by cite (which would leave citeproc too quick to rehearse beside)."""
    monkeypatch.setattr(citations, "LONG_CITEPROC", 0)
    monkeypatch.setattr(givennames, "alike", lambda _entries, _rule: False)
    return embedded_copy(tmp_path / "report")


def chapters_new(detail: str) -> int:
    """How many chapters the real pass laid out ("8 chapters ... (1 new, 7 from the cache)")."""
    return int(detail.split("(")[1].split(" new")[0])


def test_a_right_draft_leaves_only_the_bibliography_to_lay_out(
    long: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In APA the draft renders the embedded report's citations as the real pass does (no
    # two cited authors share a family name), so every chapter but the bibliography, which
    # the rehearsal leaves out (its layout is the largest), comes from the cache.
    monkeypatch.setattr(workers, "aside", in_here)
    detail, paragraphs = pdf_built(long, tmp_path / "out")
    assert "8 chapters laid out in parallel (1 new, 7 from the cache)" in detail
    monkeypatch.setattr(citations, "LONG_CITEPROC", 10**9)  # no rehearsal
    assert pdf_built(long, tmp_path / "plain") == (detail.replace("1 new, 7", "8 new, 0"),
                                                   paragraphs)  # fmt: skip


def test_a_wrong_draft_costs_time_and_changes_nothing(
    long: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The draft in IEEE: numbers in brackets instead of (Author, year), so every chapter that
    # cites comes out different and is laid out again from the real citations.
    ieee = resolve_style("ieee", long).path
    monkeypatch.setattr(citations, "without_given_names", lambda _csl, _folder: ieee)
    monkeypatch.setattr(workers, "aside", in_here)
    detail, paragraphs = pdf_built(long, tmp_path / "out")
    assert chapters_new(detail) >= 6
    assert not any("[1]" in p for p in paragraphs)
    monkeypatch.setattr(citations, "LONG_CITEPROC", 10**9)
    assert pdf_built(long, tmp_path / "plain")[1] == paragraphs


def test_the_rehearsal_in_its_own_process_is_stopped_and_the_build_is_the_same(
    long: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real thing: forked, killed when citeproc ends, whatever it got done.
    detail, paragraphs = pdf_built(long, tmp_path / "out")
    assert 1 <= chapters_new(detail) <= 8
    monkeypatch.setattr(citations, "LONG_CITEPROC", 10**9)
    assert pdf_built(long, tmp_path / "plain")[1] == paragraphs


def test_the_outline_has_the_front_of_the_real_document(tmp_path: Path) -> None:
    folder = embedded_copy(tmp_path / "report")
    config, styles, parsed = prepare(Options(folder=folder))
    locale = citation_locale(config, styles[0])
    design = load_design(folder)
    fronts = []
    for document in (citations.resolve(parsed, styles[0], locale),
                     citations._outline(parsed, styles[0], locale)):  # fmt: skip
        parts = pdfparts.split(pdf.print_page(Job(config, document, design)))
        assert parts is not None
        numbers = dict.fromkeys(parts.toc_targets, 8888)
        fronts.append((parts.front(numbers), parts.front_css, parts.toc_targets))
    assert fronts[0] == fronts[1]
    assert len(fronts[0][2]) == 18 and fronts[0][0].count("8888") == 18  # the contents' entries


def test_without_a_draft_the_outline_lays_out_the_front_alone_and_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # By cite (citations alike): no draft of the citations, the outline's rehearsal alone.
    monkeypatch.setattr(citations, "LONG_CITEPROC", 0)
    folder = embedded_copy(tmp_path / "report")
    laid: list[tuple[bool, bool]] = []  # (rehearsing, writes a PDF) of each layout
    rehearsing = [False]
    real_lay_out = pdf.lay_out

    def lay_out(layout: pdf.Layout) -> pdf.Laid:
        laid.append((rehearsing[0], layout.write))
        return real_lay_out(layout)

    monkeypatch.setattr(pdf, "lay_out", lay_out)
    monkeypatch.setattr(workers, "aside", functools.partial(in_here, rehearsing=rehearsing))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # the rehearsal wants a core to itself
    detail, paragraphs = pdf_built(folder, tmp_path / "out")
    assert [writes for ahead, writes in laid if ahead] == [False]  # the front's first try
    assert (False, False) not in laid  # not laid out again
    assert "8 chapters laid out in parallel (8 new, 0 from the cache)" in detail
    monkeypatch.setattr(citations, "LONG_CITEPROC", 10**9)
    assert pdf_built(folder, tmp_path / "plain")[1] == paragraphs


def test_citations_from_the_cache_start_no_rehearsal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An edit that changes no citation: no process is forked to rehearse beside a cache hit.
    monkeypatch.setattr(citations, "LONG_CITEPROC", 0)
    folder = embedded_copy(tmp_path / "report")
    config, styles, parsed = prepare(Options(folder=folder))
    locale = citation_locale(config, styles[0])
    drafts: list[citations.Document] = []

    def meanwhile(draft: Callable[[], citations.Document]) -> contextlib.nullcontext[None]:
        drafts.append(draft())
        return contextlib.nullcontext()

    with cache.using(cache.Cache(tmp_path / "cached")):
        first = citations.resolve(parsed, styles[0], locale, meanwhile)
        assert [draft.outline for draft in drafts] == [True]  # by cite: the outline alone
        again = citations.resolve(parsed, styles[0], locale, meanwhile)
    assert len(drafts) == 1 and again == first


def test_aside_kills_what_it_started_and_says_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    noted = tmp_path / "pid"

    def sleeper() -> None:
        child = subprocess.Popen(["sleep", "60"])
        noted.write_text(str(child.pid))
        print("said in the process aside")
        child.wait()

    with workers.aside(sleeper):
        for _ in range(100):
            if noted.exists() and noted.read_text():
                break
            time.sleep(0.05)
    pid = int(noted.read_text())
    for _ in range(100):  # killed, then reaped by init
        if not _running(pid):
            break
        time.sleep(0.05)
    assert not _running(pid)
    with workers.aside(lambda: 1 / 0):
        time.sleep(0.2)
    assert capfd.readouterr() == ("", "")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_draft_style_lacks_only_given_name_disambiguation(tmp_path: Path) -> None:
    apa = resolve_style("apa", tmp_path).path
    draft = without_given_names(apa, tmp_path)
    assert draft is not None and draft.parent == tmp_path
    original = etree.parse(str(apa))
    original.getroot().find(f"{CSL_NS}citation").attrib.pop("disambiguate-add-givenname")
    assert etree.tostring(etree.parse(str(draft)), method="c14n") == etree.tostring(
        original, method="c14n"
    )
    assert without_given_names(resolve_style("ieee", tmp_path).path, tmp_path) is None


def test_a_short_report_is_not_rehearsed(tmp_path: Path) -> None:
    folder = embedded_copy(tmp_path / "report")
    config, styles, parsed = prepare(Options(folder=folder))
    asked: list[object] = []
    citations.resolve(parsed, styles[0], citation_locale(config, styles[0]), asked.append)
    assert 0 < len(parsed.places) <= citations.LONG_CITEPROC
    assert asked == []


def test_one_core_has_no_rehearsal_not_even_the_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = embedded_copy(tmp_path / "report")
    config = prepare(Options(folder=folder))[0]
    assert editions.rehearsal(config, load_design(folder)) is not None
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert editions.rehearsal(config, load_design(folder)) is None
