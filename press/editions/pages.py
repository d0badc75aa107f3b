"""What the HTML and PDF editions share: the HTML body, the contents, the page template."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jinja2

from press import cache, pandoc, resources, templating, turns
from press.assets import logo_url
from press.citations import Document
from press.config import Config, source_date_epoch
from press.editions import Job
from press.errors import BuildError
from press.sources import report_values

TOC_DEPTH = 2
PIECE = 1_000_000
"""Characters of JSON that pandoc converts to HTML in one run (:func:`as_json`)."""
MARK = "press-part-{}-5f0c9a"
"""The paragraph that stands for a long division's content until its parts are converted."""
# The few words the page templates print, by language: (contents, page, of, skip link).
LABELS = {
    "de": ("Inhalt", "Seite", "von", "Zum Inhalt springen"),
    "en": ("Contents", "Page", "of", "Skip to content"),
    "es": ("Índice", "Página", "de", "Ir al contenido"),
    "fr": ("Table des matières", "Page", "sur", "Aller au contenu"),
    "it": ("Indice", "Pagina", "di", "Vai al contenuto"),
    "ja": ("目次", "ページ", "/", "本文へ移動"),
    "ko": ("목차", "쪽", "/", "본문 바로가기"),
    "nl": ("Inhoud", "Pagina", "van", "Naar de inhoud"),
    "pt": ("Sumário", "Página", "de", "Ir para o conteúdo"),
    "ru": ("Содержание", "Страница", "из", "Перейти к содержанию"),
    "zh": ("目录", "页", "/", "跳到正文"),
}  # fmt: skip


@dataclass(frozen=True)
class Labels:
    contents: str
    page: str
    of: str
    skip: str


def labels(lang: str) -> Labels:
    return Labels(*LABELS.get(lang.split("-")[0].lower(), LABELS["en"]))


def created(config: Config) -> str:
    """The document's creation date: report.yaml's date, else SOURCE_DATE_EPOCH, else now."""
    if config.date:
        return config.date.isoformat()
    epoch = source_date_epoch()
    moment = dt.datetime.now(dt.UTC) if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class TocEntry:
    level: int
    ident: str
    text: str


class Piece(NamedTuple):
    """A document for pandoc's HTML writer (JSON) and, for a part of a long division's
    content, the mark of the paragraph its HTML replaces."""

    json: str
    into: str = ""


def as_json(job: Job, blocks: list[pandoc.Node], piece: int = PIECE) -> list[Piece]:
    """The document with ``blocks`` for its body, as pandoc reads it, in pieces of about
    ``piece`` characters, each but the first starting at a top-level heading; a division
    longer than that with no heading or note in it (the bibliography of a long report: 5 MB
    at x50) left with a mark for its content, which follows in parts of its own.

    Pandoc's memory grows with its input (with the heap it is told to aim for, see
    :data:`press.pandoc.RUNTIME`: 125 MiB at 0.5 MB of JSON, 130 at 1 MB, 165 at 2 MB), to
    280-440 MiB for the x50 report in one run, and to 250 MiB for the x50 bibliography alone;
    in pieces of 1 MB it stays at 130 MiB, whatever the length (x50: the HTML edition no
    slower than in pieces of 2 MB, and the style switch's peak 701 -> 686 MiB). Written
    apart from :func:`fragment` so that the blocks, when made for the call, are freed before
    pandoc runs (at x50 a copy of the document's blocks is 100 MiB).
    """
    head, tail = json.dumps({**job.document.ast, "meta": {}, "blocks": "\0"}).split('"\\u0000"')

    def document(texts: list[str], into: str = "") -> Piece:
        return Piece(f"{head}[{','.join(texts)}]{tail}", into)

    texts: list[tuple[str, bool]] = []  # each block's JSON, and whether a piece may start there
    parts: list[Piece] = []
    for block in blocks:
        text = json.dumps(block)
        if len(text) > piece and _divisible(text):
            mark = MARK.format(len(parts))
            attributes, content = block["c"]
            runs = _filled([(json.dumps(b), True) for b in content], piece)
            parts += [document(run, mark) for run in runs]
            text = json.dumps({"t": "Div", "c": [attributes, [_paragraph(mark)]]})
        texts.append((text, block["t"] == "Header" and block["c"][0] == 1))
    return [document(run) for run in _filled(texts, piece)] + parts


def _divisible(text: str) -> bool:
    """Whether a block (its JSON) is a division whose content pandoc may convert in parts:
    with no heading (sections) and no note (numbered across the document) in it."""
    inside = ('"t": "Header"', '"t": "Note"')
    return text.startswith('{"t": "Div"') and not any(node in text for node in inside)


def _filled(texts: list[tuple[str, bool]], size: int) -> list[list[str]]:
    """``texts`` in runs of about ``size`` characters, a run ending only before a text that
    may start one."""
    runs: list[list[str]] = [[]]
    filled = 0
    for text, starts in texts:
        if filled > size and starts:
            runs.append([])
            filled = 0
        runs[-1].append(text)
        filled += len(text)
    return runs


def _paragraph(text: str) -> pandoc.Node:
    return {"t": "Para", "c": [{"t": "Str", "c": text}]}


def fragment(pieces: list[Piece], *, place: str, shift: int = 0, at_once: int = 1) -> str:
    """HTML for a document in pieces (:func:`as_json`) from pandoc's HTML writer (no
    citeproc: the citations are resolved already), the pieces' footnotes numbered on and
    gathered at the end as in one piece, a long division's parts put in its place.

    ``shift`` moves every heading down (the web page's title is its one ``h1``).
    ``at_once``: how many pieces pandoc converts side by side, in one turn (for a caller
    that has the cores to itself).
    """
    args = ["--from", "json", "--to", "html5", "--wrap", "none", "--section-divs"]
    args += [f"--shift-heading-level-by={shift}"] if shift else []
    bodies, notes, before = [], [], 0
    parts: dict[str, list[str]] = {}
    convert = functools.partial(_html, args, place=place)
    if at_once > 1 and len(pieces) > 1:  # one turn for all: each run would wait for another
        with turns.turn(), ThreadPoolExecutor(at_once) as pool:
            htmls = list(pool.map(convert, (piece.json for piece in pieces)))
    else:  # a turn a piece, other processes' helpers between them
        htmls = [convert(piece.json) for piece in pieces]
    for piece, html in zip(pieces, htmls, strict=True):
        if piece.into:  # blocks as in a division's content: one to a line
            parts.setdefault(piece.into, []).append(html.removesuffix("\n"))
            continue
        body, found = _notes_apart(html)
        bodies.append(_numbered_on(body, before))
        notes.append(_numbered_on(found, before))
        before += found.count('<li id="fn')
    if before:
        bodies.append(f"{NOTES_OPEN}{''.join(notes)}{NOTES_CLOSE}")
    html = "".join(bodies)
    for mark, htmls in parts.items():
        html = html.replace(f"<p>{mark}</p>", "\n".join(htmls), 1)
    return html


def _html(args: list[str], document: str, *, place: str) -> str:
    """Pandoc's HTML for a piece, from the cache if it converted the same before: after an
    edit only the edited chapter's piece is new (at x50, one of 4 for the PDF and 6 for the
    HTML edition: 0.3 s of pandoc for each instead of 1.3 and 1.6)."""
    store = cache.active()
    digest = cache.key("fragment", args, document.encode("utf-8"))
    hit = store.get("fragments", digest)
    if hit is not None:
        return hit.decode("utf-8")
    html = pandoc.run(args, document, place=place)
    store.put("fragments", digest, html)
    return html.decode("utf-8")


NOTES_OPEN = (
    '<section id="footnotes" class="footnotes footnotes-end-of-document" role="doc-endnotes">'
    "\n<hr />\n<ol>\n"
)
NOTES_CLOSE = "</ol>\n</section>\n"
NOTE_NUMBERS = re.compile(
    r'(<a href="#fn|" class="footnote-ref" id="fnref|" role="doc-noteref"><sup>'
    r'|<li id="fn|<a href="#fnref)(\d+)(?=[<">])'
)


def _notes_apart(html: str) -> tuple[str, str]:
    """A piece's HTML without its footnotes, and its footnotes (their list's items)."""
    at = html.rfind(NOTES_OPEN)
    if at < 0 or not html.endswith(NOTES_CLOSE):
        return html, ""
    return html[:at], html[at + len(NOTES_OPEN) : -len(NOTES_CLOSE)]


def _numbered_on(html: str, before: int) -> str:
    """Pandoc's footnote numbers in ``html`` (references and notes) moved on by ``before``."""
    if not before:
        return html
    return NOTE_NUMBERS.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + before}", html)


def contents(document: Document, depth: int = TOC_DEPTH) -> list[TocEntry]:
    """The headings shown in a table of contents, in order."""
    return [TocEntry(*heading) for heading in document.headings if heading[0] <= depth]


def render(job: Job, template: str, **context: Any) -> str:
    """Render a page template (the report's own ``templates/`` first) to HTML."""
    folder = job.config.folder
    dirs = resources.template_dirs(folder)
    env = templating.environment(dirs, html=True, builtin=resources.TOOL_ROOT / "templates")
    words = labels(job.config.language)
    values = {
        **report_values(job.config),
        "design": job.design,
        "labels": words,
        "created": created(job.config),
        "logo": logo_url(job.config),
        **context,
    }
    try:
        return env.get_template(template).render(values)
    except jinja2.TemplateError as exc:

        def shown_of(filename: str) -> str | None:
            path = Path(filename)
            if any(path.is_relative_to(d) for d in dirs):
                return resources.shown(path, folder)
            return None

        raise BuildError([templating.problem(exc, shown_of, "template")]) from None


def stylesheet(job: Job, *names: str) -> str:
    """The design's variables followed by the named CSS files, report copies first."""
    parts = [job.design.css_variables()]
    for name in names:
        path = resources.find(job.config.folder, "styles", name)
        parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)
