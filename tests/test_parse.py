"""Each section is parsed on its own, however many sections one run of pandoc parses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from press import citations, pandoc
from press.citations import READER
from press.cli import main
from press.resources import TOOL_ROOT
from press.sources import Section

TRICKY = [
    "A note[^1] in one section.\n\n[^1]: Defined here.\n",
    "The same label[^1] in the next: its own note.\n\n[^1]: Defined again.\n",
    "A [reference link][ref] whose definition is in another section.\n",
    "[ref]: https://example.org\n\nDefined here, used elsewhere.\n",
    "```\nA code block never closed\n",
    "---\ntitle: front matter of a section\n---\n\n# Heading\n\n# Heading\n",
    "",
]


def test_sections_parsed_in_one_run_are_parsed_as_each_alone() -> None:
    sources = sorted(TOOL_ROOT.glob("content/*.md")) + sorted(
        TOOL_ROOT.glob("tests/roots/*/content/*.md")
    )
    texts = [path.read_text(encoding="utf-8") for path in sources] + TRICKY
    alone = [pandoc.to_json(["--from", READER], text, place="test") for text in texts]
    assert [json.loads(doc) for doc in pandoc.parse_apart(texts, READER) or []] == alone
    assert alone[0]["blocks"] and alone[len(sources)]["blocks"][0]["t"] == "Para"


def test_what_pandoc_says_of_a_section_names_that_section(copy_root, capsys) -> None:
    folder = copy_root()
    section = folder / "content" / "02-outlook.md"
    section.write_text(section.read_text() + "\nA note[^x].\n\n[^x]: One.\n\n[^x]: Two.\n")
    assert pandoc.parse_apart([section.read_text()], READER) is None  # it warned: parse alone
    assert main([str(folder), "--format", "html", "-q"]) == 0
    said = capsys.readouterr().err.splitlines()
    assert "content/02-outlook.md: warning: pandoc: Duplicate note reference 'x'" in said[0]


def test_a_few_sections_are_parsed_a_run_each_and_many_a_run_per_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sections = [Section(Path(f"{i}.md"), f"{i}.md", text, text) for i, text in enumerate(TRICKY)]
    shared: list[int] = []  # the texts of each run that parses several
    parse_apart = pandoc.parse_apart

    def counted(texts: list[str], reader: str) -> list[str] | None:
        shared.append(len(texts))
        return parse_apart(texts, reader)

    monkeypatch.setattr(pandoc, "parse_apart", counted)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    a_run_each = citations._parsed(sections)
    assert shared == []  # 7 sections, 2 cores: a run each
    monkeypatch.setattr(citations, "PARSED_APART", 3)
    assert citations._parsed(sections) == a_run_each
    assert shared == [4, 3]
