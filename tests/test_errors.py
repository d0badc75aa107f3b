"""Bad input fails with a sentence and a place, and never costs the last good editions."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from press import citations, pandoc
from press.cli import main
from press.resources import TOOL_ROOT
from tests.conftest import put


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main([*args])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line]


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_citation_key_names_file_line_and_closest_key(copy_root, capsys) -> None:
    folder = copy_root("embedded")
    section = folder / "content" / "03-us-response.md"
    replace(section, "[@asahi]", "[@asahi2024]")
    code, lines = run(capsys, str(folder), "--format", "html")
    assert code == 1
    assert lines[0] == (
        "content/03-us-response.md:5: error: unknown citation key 'asahi2024' "
        "(did you mean 'asahi'?) [citation.unknown-key]"
    )
    assert lines[-1] == "failed: 1 problem"
    assert not (folder / "output" / "north-korea-missile-tests.html").exists()


def test_every_unknown_key_is_reported(copy_root, capsys) -> None:
    folder = copy_root()
    replace(folder / "content" / "01-findings.md", "[@okafor2021]", "[@okafor2012]")
    replace(folder / "content" / "02-outlook.md", "@harbour-board;", "@harbor-board;")
    code, lines = run(capsys, str(folder))
    assert code == 1
    assert lines[:2] == [
        "content/01-findings.md:4: error: unknown citation key 'okafor2012' "
        "(did you mean 'okafor2021'?) [citation.unknown-key]",
        "content/02-outlook.md:5: error: unknown citation key 'harbor-board' "
        "(did you mean 'harbour-board'?) [citation.unknown-key]",
    ]


def test_failed_build_leaves_previous_editions_byte_identical(copy_root, capsys) -> None:
    folder = copy_root()
    assert run(capsys, str(folder))[0] == 0
    output = folder / "output"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in output.iterdir()}
    assert set(before) == {"briefing.pdf", "briefing.docx", "briefing.html"}

    replace(folder / "content" / "02-outlook.md", "Next steps", "Next steps {{ undefined_thing }}")
    code, lines = run(capsys, str(folder))
    assert code == 1
    assert lines[0].startswith("content/02-outlook.md:3: error: undefined variable")
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in output.iterdir()}
    assert after == before


def test_failure_while_writing_an_edition_keeps_all_previous_ones(copy_root, capsys) -> None:
    folder = copy_root()
    assert run(capsys, str(folder))[0] == 0
    output = folder / "output"
    before = {p.name: p.read_bytes() for p in output.iterdir()}
    # The PDF is written first; break the template only the HTML edition uses.
    put(
        folder,
        "templates/web.html.j2",
        '{% extends "base.html.j2" %}\n{% block body %}\n{{ no_such_value }}\n{% endblock %}\n',
    )
    code, lines = run(capsys, str(folder))
    assert code == 1
    assert lines[0].startswith("templates/web.html.j2:3: error: undefined variable")
    assert {p.name: p.read_bytes() for p in output.iterdir()} == before


def test_config_problems_are_all_listed_with_lines(copy_root, capsys) -> None:
    folder = copy_root()
    replace(folder / "report.yaml", "title: Harbour Water Quality\n", "titel: Harbour\n")
    replace(folder / "report.yaml", "lang: en-GB", "lang: 42")
    replace(folder / "report.yaml", "output: briefing", "output: ../escape")
    code, lines = run(capsys, str(folder))
    assert code == 1
    assert (
        "report.yaml:2: error: unknown key 'titel' (did you mean 'title'?) [config.unknown-key]"
        in lines
    )
    assert any(
        line.startswith("report.yaml:7: error: 'lang': expected a language tag") for line in lines
    )
    assert any(line.startswith("report.yaml:10: error: 'output':") for line in lines)
    assert "report.yaml: error: missing required key 'title' [config.required]" in lines


def test_yaml_syntax_error_has_line_and_column(copy_root, capsys) -> None:
    folder = copy_root()
    replace(
        folder / "report.yaml", "authors: [A. Researcher, B. Analyst]", "authors: [A. Researcher"
    )
    code, lines = run(capsys, str(folder))
    assert code == 1
    assert lines[0].startswith("report.yaml:")
    assert "YAML syntax" in lines[0] and "column" in lines[0]


def test_bibliography_problems(copy_root, capsys) -> None:
    folder = copy_root()
    replace(folder / "sources.json", '"id": "harbour-board"', '"id": "okafor2021"')
    code, lines = run(capsys, str(folder))
    assert code == 1
    assert lines[0] == (
        "sources.json:13: error: duplicate id 'okafor2021' (first at line 3) [bib.duplicate]"
    )

    replace(folder / "sources.json", '"volume": "12",', '"volume": "12"')
    code, lines = run(capsys, str(folder))
    assert code == 1
    assert lines[0].startswith("sources.json:9: error: invalid JSON: Expecting ',' delimiter")


def test_unknown_style_suggests_the_closest(copy_root, capsys) -> None:
    code, lines = run(capsys, str(copy_root()), "--style", "chicago-author-dat")
    assert code == 1
    assert lines[0] == (
        "citation-style: error: unknown citation style 'chicago-author-dat' "
        "(did you mean 'chicago-author-date', 'chicago-author-date-fr' or "
        "'chicago-author-date-de'?) [style.unknown]"
    )


def test_broken_house_style_fails_with_its_line(copy_root, capsys) -> None:
    folder = copy_root()
    put(
        folder,
        "styles/house.csl",
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" version="1.0">\n'
        "  <citation><layout><text variable='title'/></layout></citation>\n"
        "</style>\n",
    )
    code, lines = run(capsys, str(folder), "--style", "house")
    assert code == 1
    assert lines[0].startswith("styles/house.csl:2: error: invalid CSL:")


def test_other_style_and_single_format(copy_root, capsys, tmp_path) -> None:
    out = tmp_path / "out"
    code = main([str(copy_root()), "--style", "ieee", "--format", "html", "--output", str(out)])
    assert code == 0
    assert [p.name for p in out.iterdir()] == ["briefing.html"]
    text = (out / "briefing.html").read_text()
    assert "[1]" in text and "Okafor" in text


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.png", "image 'missing.png' not found [asset.missing]"),
        (
            "../../outside.png",
            "image '../../outside.png' is outside the report folder [asset.outside]",
        ),
        ("https://example.org/a.png", "is not a file in the report folder [asset.remote]"),
        ("notes.txt", "unsupported format (use GIF, JPEG, JPG, PNG, SVG) [asset.format]"),
        ("fake.png", "image 'fake.png' is not a valid PNG file [asset.format]"),
    ],
)
def test_bad_images_fail_with_their_line(copy_root, capsys, target: str, message: str) -> None:
    folder = copy_root()
    (folder / "content" / "notes.txt").write_text("not an image")
    (folder / "content" / "fake.png").write_text("not a PNG either")
    (folder.parent / "outside.png").write_bytes((folder / "content" / "counts.png").read_bytes())
    replace(folder / "content" / "02-outlook.md", "(counts.png)", f"({target})")
    code, lines = run(capsys, str(folder), "--format", "html")
    assert code == 1
    assert lines[0].startswith("content/02-outlook.md:7: error: ")
    assert lines[0].endswith(message)


def test_uncited_entry_is_a_warning_with_its_line(copy_root, capsys) -> None:
    folder = copy_root()
    replace(
        folder / "sources.json",
        "[\n",
        '[\n  {"id": "unused2020", "type": "book", "title": "Never cited"},\n',
    )
    code, lines = run(capsys, str(folder), "--format", "html", "-q")
    assert code == 0
    assert lines == ["sources.json:2: warning: entry 'unused2020' is never cited [bib.uncited]"]


def test_a_jinja_comment_in_a_section_is_written_as_the_readme_says(copy_root, capsys) -> None:
    """``{# ... #}`` is text in a section (``{#`` is pandoc's); said, with its line."""
    folder = copy_root()
    section = sorted((folder / "content").glob("*.md"))[0]
    section.write_text(section.read_text() + "\n\nMore. {# an old note #}\n{## a new one ##}\n")
    line = section.read_text().splitlines().index("More. {# an old note #}") + 1
    code, lines = run(capsys, str(folder), "--format", "html", "-q")
    assert code == 0
    assert lines == [
        f"content/{section.name}:{line}: warning: '{{# ... #}}' is not a comment in a section"
        " ('{#' begins pandoc's attributes): write '{## ... ##}' [source.comment]"
    ]


def test_a_reader_that_stops_reading_is_no_internal_error() -> None:
    """`python build.py styles | head -1`: the list stops there, without a traceback."""
    command = [sys.executable, str(TOOL_ROOT / "build.py"), "styles"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as listing:
        assert listing.stdout is not None and listing.stderr is not None
        first = listing.stdout.readline()
        listing.stdout.close()  # 2,851 lines: it is still writing
        said = listing.stderr.read()
    assert first.startswith(b"academy-of-management")
    assert listing.returncode == 1
    assert said == b""


def test_a_folder_that_is_not_there_is_said_so(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("not a folder")
    assert run(capsys, str(tmp_path / "none"))[1][0].endswith(
        "none: error: no such folder [config.missing]"
    )
    said = run(capsys, str(tmp_path / "file"))[1][0]
    assert (
        said == f"{tmp_path / 'file'}: error: not a folder: a report is a folder [config.missing]"
    )


def test_a_citation_key_is_placed_on_the_line_where_pandoc_reads_it() -> None:
    """Each key pandoc reads in a section is found on its own line: not on an earlier line
    where it begins a longer key, with the punctuation after it left out, braced or not."""
    source = (
        "First @nti2024 says so.\n"
        "Then [@nti, p. 3; @smith:]\n"
        "and [-@a.b.c]. @{odd.key?x=1}; nti@example.org.\n"
        "@smith_jones2020's view, @über.\n"
    )
    doc = json.loads(pandoc.run(["--from", citations.READER, "--to", "json"], source, place="test"))
    read = [c["citationId"] for node in pandoc.walk(doc["blocks"]) if node["t"] == "Cite"
            for c in node["c"][0]]  # fmt: skip
    assert read == ["nti2024", "nti", "smith", "a.b.c", "odd.key?x=1", "smith_jones2020", "über"]
    lines = citations._key_lines(source)
    assert [lines[key] for key in read] == [1, 2, 2, 3, 3, 4, 4]
