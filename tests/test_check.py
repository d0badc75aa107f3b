"""build.py check: the editions agree, and the bibliography lint finds what it should."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from press.check import check_report
from press.cli import main
from press.extract import missing_in_order
from press.resources import TOOL_ROOT
from tests.conftest import ROOTS, Built


def codes_by_entry(findings) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    found: dict[str, set[str]] = {}
    for problem in findings:
        if problem.message.startswith("'"):
            key = problem.message.split("'")[1]
            found.setdefault(key, set()).add(problem.code)
    return found


def test_embedded_report_findings_and_agreement(report: Built) -> None:
    output = report.path("html").parent
    findings = check_report(TOOL_ROOT, output)
    assert not [p for p in findings if p.code.startswith("parity")], "the editions agree"
    by_entry = codes_by_entry(findings)
    assert "lint.scraper-title" in by_entry["jstor-terms"]
    assert "lint.url-repeats" in by_entry["defense-pentagon"]
    assert "lint.dev-host" in by_entry["isw"]
    rebuilt = {k for k, codes in by_entry.items() if "lint.reconstructed" in codes}
    assert len(rebuilt) == 10
    for key in ("nti", "ncnk", "bbc", "asahi", "rand", "icanw", "armscontrol", "christophbluth"):
        assert {"lint.no-date", "lint.domain-author"} <= by_entry[key], key
    assert all(p.path == "content/references.json" and p.line for p in findings)


CASES = yaml.safe_load((Path(__file__).parent / "check_cases.yaml").read_text(encoding="utf-8"))


def crafted(tmp_path: Path, entry: dict, cite: bool = True, also_url: str | None = None) -> Path:
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    report = folder / "report.yaml"
    report.write_text(report.read_text() + "formats: [html]\n")
    sources = folder / "sources.json"
    entries = json.loads(sources.read_text())
    if also_url:
        entries[1]["URL"] = also_url
    lines = [json.dumps({"id": "x", **entry})] + [json.dumps(e) for e in entries]
    sources.write_text("[\n" + ",\n".join(lines) + "\n]\n")  # 'x' stands on line 2
    if cite:
        outlook = folder / "content" / "02-outlook.md"
        outlook.write_text(outlook.read_text().replace("[@harbour-board;", "[@x; @harbour-board;"))
    return folder


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_finding(tmp_path: Path, capsys, case: dict) -> None:
    folder = crafted(tmp_path, case["entry"], also_url=case.get("also_url"))
    assert main([str(folder), "--no-check", "-q"]) == 0
    capsys.readouterr()
    assert main(["check", str(folder), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    about_x = [f for f in report["findings"] if "'x'" in f["message"]]
    assert case["code"] in {f["code"] for f in about_x}, about_x
    for finding in about_x:
        assert finding["path"] == "sources.json"
        if finding["message"].startswith("'x'"):
            assert finding["line"] == 2
    assert report["summary"][case["code"]] >= 1


def test_listed_but_never_cited(tmp_path: Path, capsys) -> None:
    folder = crafted(tmp_path, {"type": "book", "title": "B"}, cite=False)
    assert main([str(folder), "--no-check", "-q"]) == 0
    capsys.readouterr()
    assert main(["check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "sources.json:2  warning  lint.uncited  'x': listed but never cited" in out
    assert out.rstrip().splitlines()[-1].startswith("0 errors, 1 warning (lint.uncited 1)")
    assert main(["check", str(folder), "--strict"]) == 1


def test_check_needs_built_editions(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    assert main(["check", str(folder)]) == 1
    assert "[check.not-built]" in capsys.readouterr().err


def test_broken_parity_is_reported(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    assert main([str(folder), "-q"]) == 0
    # An edition built from a different source: one paragraph edited, DOCX only.
    other = tmp_path / "other"
    shutil.copytree(folder, other, ignore=shutil.ignore_patterns("output"))
    outlook = other / "content" / "02-outlook.md"
    outlook.write_text(outlook.read_text().replace("stay low", "stay very low"))
    assert main([str(other), "--format", "docx", "--output", str(tmp_path / "docx"), "-q"]) == 0
    shutil.copy(tmp_path / "docx" / "briefing.docx", folder / "output" / "briefing.docx")
    capsys.readouterr()
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^editions +error +parity.differs +under 'Next steps'", out, re.M)
    assert "under 'Next steps': HTML has 'The board expects counts to stay low" in out
    assert "DOCX has 'The board expects counts to stay very low" in out


def test_texts_are_looked_in_as_one_after_the_other() -> None:
    """The PDF's body, then its footnotes: a citation in a note comes after the body's, and
    what layout adds (line breaks, hyphens) does not hide a text."""
    body, notes = "Kim (2020a) said so.\nThe missile pro-\ngramme grew.", "1. See Kim (2020b)."
    needles = ["Kim (2020a)", "missile programme", "Kim (2020b)"]
    assert missing_in_order(needles, body, notes) == []
    assert missing_in_order(needles, notes, body) == [2]  # the note read first: 2020b is before
    assert missing_in_order(["Kim (2020b)", "Kim (2020a)"], body, notes) == [1]
    assert missing_in_order(needles, body + notes) == missing_in_order(needles, body, notes)
