"""``build.py check``: prove the editions agree, and lint the bibliography.

Parity: the HTML, DOCX and PDF editions are read back as a reader sees them
(:mod:`press.extract`) and compared block by block; running heads, page numbers
and the tables of contents are left out by the extraction, not reported. Any
difference is an error naming the heading it falls under and both texts.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from press import extract
from press.errors import BuildError, Problem

PLACE = "editions"


def check_report(folder: Path, output: Path | None = None) -> list[Problem]:
    """Parity of the editions in the output folder, then the bibliography lint."""
    import datetime as dt

    from press.build import Options, prepare
    from press.design import load_design
    from press.editions import EDITIONS
    from press.lint import lint

    config, styles, parsed = prepare(Options(folder=folder))
    out = (output or config.folder / "output").resolve()
    reading = extract.print_reading(config, load_design(config.folder))
    problems: list[Problem] = []
    for style in styles:
        stem = config.edition_stem(style.name)
        paths = {f: out / f"{stem}{EDITIONS[f].suffix}" for f in config.formats}
        missing = [p.name for p in paths.values() if not p.is_file()]
        if missing:
            message = f"no {', '.join(missing)} in {out}: build the editions first"
            raise BuildError([Problem(PLACE, None, message, "check.not-built")])
        problems += parity(paths, reading)
    return problems + lint(parsed.bibliography, list(parsed.cited), styles[0], dt.date.today())


def parity(paths: dict[str, Path], reading: extract.Reading) -> list[Problem]:
    """Differences between the editions in ``paths`` (format -> file); HTML is the reference.
    ``reading``: how the PDF is read (:func:`press.extract.print_reading`)."""
    if "html" not in paths:
        return []
    html = extract.from_html(paths["html"])
    problems: list[Problem] = []
    if "docx" in paths:
        docx = extract.from_docx(paths["docx"])
        problems += _compare("headings", html.headings, docx.headings, "DOCX")
        problems += _compare_paragraphs(html, docx)
        problems += _compare("footnotes", html.footnotes, docx.footnotes, "DOCX")
        problems += _compare("bibliography entries", html.bibliography, docx.bibliography, "DOCX")
        problems += _compare("captions", html.captions, docx.captions, "DOCX")
        citations = [c for c in html.citations if c]
        problems += _in_order("in-text citation", citations, "DOCX", docx.body)
    if "pdf" in paths:
        pdf = extract.from_pdf(paths["pdf"], reading)
        problems += _compare("headings", html.headings, pdf.headings, "PDF (bookmarks)")
        blocks = list(zip(html.under, html.paragraphs, strict=True))
        problems += _in_order_under("paragraph", blocks, "PDF", pdf.body)
        notes = " ".join(pdf.footnotes)
        problems += _in_order("footnote", html.footnotes, "PDF", notes)
        entries = [extract.without_label(b) for b in html.bibliography]
        problems += _in_order("bibliography entry", entries, "PDF", pdf.body)
        problems += _in_order("caption", html.captions, "PDF", pdf.body)
        citations = [c for c in html.citations if c]
        problems += _in_order("in-text citation", citations, "PDF", pdf.body, notes)
    return problems


def _compare(kind: str, reference: list[str], other: list[str], name: str) -> list[Problem]:
    problems = []
    matcher = difflib.SequenceMatcher(a=reference, b=other, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        html_side = " | ".join(reference[a0:a1]) or "(nothing)"
        other_side = " | ".join(other[b0:b1]) or "(nothing)"
        message = (
            f"{kind} differ: HTML has {_short(html_side)!r}, {name} has {_short(other_side)!r}"
        )
        problems.append(Problem(PLACE, None, message, "parity.differs"))
    return problems


def _compare_paragraphs(html: extract.EditionText, other: extract.EditionText) -> list[Problem]:
    problems = []
    matcher = difflib.SequenceMatcher(a=html.paragraphs, b=other.paragraphs, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        heading = (html.under[a0] if a0 < len(html.under) else "") or (
            other.under[b0] if b0 < len(other.under) else ""
        )
        html_side = " | ".join(html.paragraphs[a0:a1]) or "(nothing)"
        other_side = " | ".join(other.paragraphs[b0:b1]) or "(nothing)"
        message = (
            f"under '{heading}': HTML has {_short(html_side)!r}, DOCX has {_short(other_side)!r}"
        )
        problems.append(Problem(PLACE, None, message, "parity.differs"))
    return problems


def _in_order(kind: str, needles: list[str], name: str, *haystack: str) -> list[Problem]:
    return _in_order_under(kind, [("", n) for n in needles], name, *haystack)


def _in_order_under(
    kind: str, needles: list[tuple[str, str]], name: str, *haystack: str
) -> list[Problem]:
    """Each needle must appear in the ``haystack`` texts (read one after the other) after
    the one before it (line breaks ignored)."""
    problems = []
    for index in extract.missing_in_order([n for _h, n in needles], *haystack):
        heading, needle = needles[index]
        where = f"under '{heading}': " if heading else ""
        message = f"{where}{kind} missing from the {name}: {_short(needle)!r}"
        problems.append(Problem(PLACE, None, message, "parity.missing"))
    return problems


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
