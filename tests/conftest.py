"""Shared fixtures: the embedded report and the small test report, each built once."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from press import extract
from press.build import Options, Result, build
from press.config import load_config
from press.design import load_design
from press.resources import TOOL_ROOT

ROOTS = Path(__file__).parent / "roots"
PRINT_MARGIN_PT = load_config(TOOL_ROOT).page.margins_pt[0]  # the embedded report's top margin


def put(folder: Path, relative: str, text: str) -> Path:
    """Write ``text`` to ``folder/relative``, making its folders (a report's own styles,
    templates, content)."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Built:
    result: Result
    html: extract.EditionText
    docx: extract.EditionText
    pdf: extract.EditionText

    def path(self, fmt: str) -> Path:
        return next(w.path for w in self.result.written if w.format == fmt)


def build_and_read(folder: Path, output: Path) -> Built:
    result = build(Options(folder=folder, output=output))
    paths = {w.format: w.path for w in result.written}
    reading = extract.print_reading(result.config, load_design(folder))
    return Built(
        result=result,
        html=extract.from_html(paths["html"]),
        docx=extract.from_docx(paths["docx"]),
        pdf=extract.from_pdf(paths["pdf"], reading),
    )


def embedded_copy(target: Path) -> Path:
    """The embedded report (report.yaml and content/) copied to ``target``, without the
    repository's build cache: what a test reads of a build is what that build did, whether
    or not `make report` ran before."""
    target.mkdir(parents=True)
    shutil.copy(TOOL_ROOT / "report.yaml", target)
    shutil.copytree(TOOL_ROOT / "content", target / "content")
    return target


@pytest.fixture(scope="session")
def report(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The embedded North Korea report, built with its own report.yaml."""
    folder = embedded_copy(tmp_path_factory.mktemp("embedded") / "report")
    return build_and_read(folder, tmp_path_factory.mktemp("report-output"))


@pytest.fixture(scope="session")
def minimal(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """tests/roots/minimal: Jinja variables, an author footnote, a list, two sources. Built
    from a copy: a build caches its work in its report folder, and the tests copy this one
    (it grew to 39 MB in tests/roots, copied by every test, and filled /tmp)."""
    folder = tmp_path_factory.mktemp("minimal") / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    return build_and_read(folder, tmp_path_factory.mktemp("minimal-output"))


@pytest.fixture
def copy_root(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Copy a report folder (a test root, or the embedded report) to play with."""

    def copy(name: str = "minimal") -> Path:
        target = tmp_path / "report"
        if name == "embedded":
            return embedded_copy(target)
        shutil.copytree(ROOTS / name, target)
        return target

    return copy
