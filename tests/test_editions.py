"""The three editions carry the same headings, text, citations and bibliography."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import lxml.html
import pytest
from pypdf import PdfReader

from press import pandoc
from press.cli import main
from press.editions.pages import PIECE, Piece, as_json, fragment
from press.extract import missing_in_order
from press.resources import TOOL_ROOT
from tests.conftest import Built

EDITIONS = ("report", "minimal")


@pytest.fixture(params=EDITIONS)
def built(request: pytest.FixtureRequest) -> Built:
    return request.getfixturevalue(request.param)


def in_order(needles: list[str], haystack: str) -> list[str]:
    """The needles not found in ``haystack`` one after the other (empty when all are)."""
    return [needles[i] for i in missing_in_order(needles, haystack)]


def test_three_editions_written(built: Built) -> None:
    formats = {w.format: w.path for w in built.result.written}
    assert set(formats) == {"pdf", "docx", "html"}
    for path in formats.values():
        assert path.stat().st_size > 1000
    assert not list(formats["pdf"].parent.glob(".press-*")), "staging folder left behind"


def test_same_headings_in_order(built: Built) -> None:
    assert built.html.headings
    assert built.docx.headings == built.html.headings
    assert built.pdf.headings == built.html.headings  # the PDF's bookmarks


def test_same_paragraph_text(built: Built) -> None:
    assert built.docx.paragraphs == built.html.paragraphs
    assert in_order(built.html.paragraphs, built.pdf.body) == []


def test_same_in_text_citations_in_order(built: Built) -> None:
    cites = built.html.citations
    assert cites
    assert in_order(cites, built.docx.body) == []
    assert in_order(cites, built.pdf.body + " ".join(built.pdf.footnotes)) == []


def test_same_bibliography(built: Built) -> None:
    assert built.html.bibliography
    assert built.docx.bibliography == built.html.bibliography
    assert in_order(built.html.bibliography, built.pdf.body) == []


def test_same_footnotes(built: Built) -> None:
    assert built.docx.footnotes == built.html.footnotes
    assert in_order(built.html.footnotes, " ".join(built.pdf.footnotes)) == []


def test_one_bibliography_entry_per_cited_source(report: Built) -> None:
    entries = json.loads((TOOL_ROOT / "content" / "references.json").read_text())
    cited = report.result.document.cited
    assert len(cited) == len(set(cited)) == 46
    assert set(cited) == {e["id"] for e in entries}
    assert len(report.html.bibliography) == 46
    assert len(set(report.html.bibliography)) == 46


def test_apa_rendering_of_the_seed(report: Built) -> None:
    html = report.html
    assert "(www.nti.org, n.d.)" in html.citations
    # Undated items by the same domain are told apart with letters, as citeproc-js does.
    assert any("www.tandfonline.com, n.d.-a" in c for c in html.citations)
    assert "장부윤. (2014)." in " ".join(html.bibliography)
    assert any(
        b.startswith("www.nti.org. (n.d.). Retrieved November 5, 2024, from")
        for b in html.bibliography
    )


def test_korean_name_in_every_edition(report: Built) -> None:
    for edition in (report.html, report.docx):
        assert any("장부윤" in b for b in edition.bibliography)
    assert "장부윤" in report.pdf.body


def test_pdf_fonts_are_the_shipped_ones_and_embedded(report: Built) -> None:
    reader = PdfReader(report.path("pdf"))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            name = re.sub(r"^/[A-Z]{6}\+", "", str(font["/BaseFont"])).replace("-", "")
            fonts[name] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert fonts and all(fonts.values()), fonts
    shipped = ("NotoSerif", "NotoSans", "NanumMyeongjo")
    assert all(name.startswith(shipped) for name in fonts), fonts
    assert any(n.startswith("NanumMyeongjo") for n in fonts)


def test_pdf_metadata(report: Built) -> None:
    meta = PdfReader(report.path("pdf")).metadata
    assert meta is not None
    assert meta.title and meta.title.startswith("North Korea's Missile Tests")
    assert meta.author == "Policy Research Team"


def test_docx_uses_word_styles(report: Built) -> None:
    import docx

    document = docx.Document(str(report.path("docx")))
    used = {p.style.name for p in document.paragraphs if p.style is not None}
    assert {"Title", "Heading 1", "Heading 2", "Bibliography"} <= used
    assert used & {"Body Text", "First Paragraph"}
    heading = document.styles["Heading 1"]
    assert heading.font.name == "Noto Sans"
    assert document.core_properties.title == "North Korea's Missile Tests"
    assert document.core_properties.language == "en-US"


def test_html_is_self_contained(report: Built) -> None:
    from lxml import html

    text = report.path("html").read_text(encoding="utf-8")
    root = html.fromstring(text)
    # Links to sources are fine; anything the browser would load by itself is not.
    assert root.xpath("//link[@href] | //script[@src] | //iframe | //object") == []
    assert all(src.startswith("data:") for src in root.xpath("//img/@src | //source/@src"))
    assert not re.search(r"url\(\s*[\"']?(https?:|//|file:)", text)
    assert '<html lang="en-US">' in text
    assert "@font-face" in text and "data:font/woff;base64," in text


def test_html_citations_link_to_entries(report: Built) -> None:
    from lxml import html

    root = html.parse(str(report.path("html"))).getroot()
    ids = set(root.xpath("//*[@id='refs']/*/@id"))
    links = root.xpath("//span[@class='citation']//a/@href")
    assert links and all(link[1:] in ids for link in links)


def test_jinja_variables_and_footnote(minimal: Built) -> None:
    first = minimal.html.paragraphs[0]
    assert first.startswith("This briefing, dated 14 March 2025, summarises 128 water samples")
    assert "a review in 2026." in minimal.html.paragraphs
    assert minimal.html.footnotes == [
        "Samples were taken at low tide, as in earlier surveys (Harbour Board, 2023)."
    ]


def test_pandoc_attributes_are_not_jinja_comments(copy_root, capsys) -> None:
    """``{#id}`` is pandoc's (a heading's id, where the bibliography stands); a Jinja comment
    in a section is written ``{## ... ##}``."""
    folder = copy_root()
    section = sorted((folder / "content").glob("*.md"))[0]
    added = "\n\n## Where it stands {#standing}\n\nSee [this]{#this}. {## to the editor ##}Done.\n"
    section.write_text(section.read_text() + added)
    assert main([str(folder), "-q"]) == 0, capsys.readouterr().err
    root = lxml.html.parse(str(folder / "output" / "briefing.html")).getroot()
    assert "Where it stands" in root.get_element_by_id("standing").text_content()
    assert root.get_element_by_id("this").text_content() == "this"
    assert "See this. Done." in " ".join(root.text_content().split())
    assert "to the editor" not in root.text_content()


def test_same_figures_and_captions(built: Built) -> None:
    assert built.docx.captions == built.html.captions
    assert in_order(built.html.captions, built.pdf.body) == []
    assert built.html.images == built.docx.images == built.pdf.images


def test_figure_embedded_in_every_edition(minimal: Built) -> None:
    assert minimal.html.captions == ["Bacterial counts at the five sampling sites"]
    assert minimal.html.images == minimal.docx.images == minimal.pdf.images == 1


@pytest.mark.parametrize("refs_first", [False, True])
def test_entries_link_back_wherever_the_bibliography_stands(refs_first: bool) -> None:
    from press.editions.html import with_backlinks

    citation = {"t": "Cite", "c": [[{"citationId": "a"}], [{"t": "Str", "c": "A"}]]}
    cite = {"t": "Para", "c": [citation]}
    entry = {"t": "Div", "c": [["ref-a", [], []], [{"t": "Para", "c": [{"t": "Str", "c": "A."}]}]]}
    refs = {"t": "Div", "c": [["refs", [], []], [entry]]}
    out = with_backlinks([refs, cite] if refs_first else [cite, refs])
    links = [n["c"][2][0] for n in pandoc.walk(out) if n["t"] == "Link"]
    assert links == ["#cite-1"]


def _in_pieces(source: str, piece: int) -> list[Piece]:
    """Markdown ``source`` as the editions hand it to pandoc's HTML writer, in pieces of
    about ``piece`` characters."""
    ast = pandoc.to_json(["--from", "markdown"], source, place="test")
    job = SimpleNamespace(document=SimpleNamespace(ast=ast))
    return as_json(job, ast["blocks"], piece)  # type: ignore[arg-type]


def test_a_long_document_converted_in_pieces_is_the_same_html() -> None:
    chapter = (
        "# Chapter {n}\n\nText[^a{n}] and more.[^b{n}]\n\n## Part {n}\n\nMore text.[^c{n}]\n\n"
        "[^a{n}]: A note with a list:\n\n    - one\n    - two\n\n"
        "[^b{n}]: Another, with a [link](#chapter-1).\n\n[^c{n}]: A third.\n\n"
    )
    source = "Before any heading.[^0]\n\n[^0]: The first note.\n\n"
    source += "".join(chapter.format(n=n) for n in range(1, 13))
    whole, pieces = _in_pieces(source, PIECE), _in_pieces(source, 500)
    assert len(whole) == 1 and len(pieces) >= 6
    assert all('"t": "Header", "c": [1,' in piece.json for piece in pieces[1:])  # at chapters
    for shift in (0, 1):
        html = fragment(whole, place="test", shift=shift)
        assert fragment(pieces, place="test", shift=shift) == html
        assert html.count('class="footnote-ref"') == 37 and 'id="fn37"' in html


def test_after_an_edit_only_the_edited_piece_is_converted_again(monkeypatch, tmp_path) -> None:
    """Pandoc's HTML for each piece is kept in the cache: a long report's edit converts its
    chapter's piece alone, and the HTML is the same as converted whole."""
    from press import cache

    chapters = [f"# Chapter {n}\n\nText {n}.[^{n}]\n\n[^{n}]: Note {n}.\n\n" for n in range(6)]
    converted: list[str] = []
    run = pandoc.run

    def counted(args: list[str], document: str, *, place: str) -> bytes:
        if "html5" in args:
            converted.append(document)
        return run(args, document, place=place)

    def html(source: str, piece: int) -> str:
        return fragment(_in_pieces(source, piece), place="test")

    monkeypatch.setattr(pandoc, "run", counted)
    with cache.using(cache.Cache(tmp_path)):
        html("".join(chapters), 10)
        assert len(converted) == 6
        converted.clear()
        chapters[3] = chapters[3].replace("Text 3.", "Text 3, edited.")
        edited = html("".join(chapters), 10)
        assert len(converted) == 1 and "edited" in converted[0]
    assert edited == html("".join(chapters), 10**9)


def test_a_long_bibliography_converted_in_parts_is_the_same_html() -> None:
    """The bibliography of a long report is one division (5 MB of JSON at x50): its entries
    are converted in parts, put in its place; a division with notes in it is not divided."""
    entries = "".join(
        f"::: {{#ref-{n} .csl-entry role=listitem}}\nAuthor {n}. *Title {n}*. "
        f"<https://example.org/{n}>.\n:::\n\n"
        for n in range(40)
    )
    source = (
        "# Chapter\n\nText.[^1]\n\n[^1]: A note.\n\n# References\n\n"
        f"::: {{#refs .references .csl-bib-body .hanging-indent role=list}}\n{entries}:::\n\n"
        "::: aside\nA division with a note.[^2] And long enough to divide.\n:::\n\n"
        "[^2]: Its note.\n"
    )
    whole, pieces = _in_pieces(source, PIECE), _in_pieces(source, 60)
    parts = [piece for piece in pieces if piece.into]
    assert len(whole) == 1 and len(parts) >= 10 and len({part.into for part in parts}) == 1
    assert all("Its note" not in part.json for part in parts)
    for shift in (0, 1):
        html = fragment(whole, place="test", shift=shift)
        assert fragment(pieces, place="test", shift=shift) == html
        assert html.count('class="csl-entry"') == 40 and 'id="fn2"' in html
        assert "press-part" not in html
