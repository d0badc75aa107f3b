"""Each section is parsed on its own, however many sections one run of pandoc parses."""

from __future__ import annotations

import json

from press import pandoc
from press.citations import READER
from press.cli import main
from press.resources import TOOL_ROOT

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
