"""What the HTML and PDF editions share: the HTML body, the contents, the page template."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from press import pandoc, resources, templating
from press.assets import logo_url
from press.citations import Document
from press.config import Config, source_date_epoch
from press.editions import Job
from press.errors import BuildError
from press.sources import report_values

TOC_DEPTH = 2
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


def as_json(job: Job, blocks: list[pandoc.Node]) -> str:
    """The document with ``blocks`` for its body, as pandoc reads it.

    Written apart from :func:`fragment` so that the blocks, when made for the call, are
    freed before pandoc runs (at x50 a copy of the document's blocks is 100 MiB).
    """
    return json.dumps({**job.document.ast, "meta": {}, "blocks": blocks})


def fragment(document: str, *, place: str, shift: int = 0) -> str:
    """HTML for a document (:func:`as_json`) from pandoc's HTML writer (no citeproc: the
    citations are resolved already).

    ``shift`` moves every heading down (the web page's title is its one ``h1``).
    """
    args = ["--from", "json", "--to", "html5", "--wrap", "none", "--section-divs"]
    args += [f"--shift-heading-level-by={shift}"] if shift else []
    return pandoc.run(args, document, place=place).decode("utf-8")


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
