"""The one config model: ``report.yaml`` at the root of a report folder.

Every key is declared once in :data:`FIELDS` with its type, default and meaning;
:func:`load_config` checks them all and raises every problem at once, each with
the key path and the line it stands on.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from press.errors import BuildError, Problem, did_you_mean

CONFIG_NAME = "report.yaml"
FORMATS = ("pdf", "docx", "html")
DEFAULT_LANGUAGE = "en-US"


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` (reproducible-builds.org), when set to a number of seconds: the
    moment every edition gives as its own, so that equal inputs give equal bytes."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else None


_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_OUTPUT = re.compile(r"^[\w][\w.-]*$")
_LENGTH = re.compile(r"(\d+(?:\.\d+)?)(mm|cm|in|pt)")
_MARGINS = re.compile(r"^(\d+(\.\d+)?(mm|cm|in|pt)\s*){1,4}$")


@dataclass(frozen=True)
class PageSettings:
    """The ``page:`` section: page set-up shared by the PDF and DOCX editions."""

    paper: str = "a4"
    margins: str = "25mm 22mm"
    numbers: str = "plain"
    furniture_on_cover: bool = False

    @property
    def margins_pt(self) -> tuple[float, float, float, float]:
        """The margins (top, right, bottom, left) in points, read as CSS reads its shorthand."""
        points = {"mm": 72 / 25.4, "cm": 720 / 25.4, "in": 72.0, "pt": 1.0}
        values = [float(v) * points[u] for v, u in _LENGTH.findall(self.margins)]
        top = values[0]
        right = values[1] if len(values) > 1 else top
        bottom = values[2] if len(values) > 2 else top
        left = values[3] if len(values) > 3 else right
        return top, right, bottom, left

    @property
    def top_bottom_pt(self) -> tuple[float, float]:
        """Top and bottom margins in points: where running heads and page numbers stand."""
        top, _right, bottom, _left = self.margins_pt
        return top, bottom


@dataclass(frozen=True)
class PdfSettings:
    """The ``pdf:`` section."""

    toc_depth: int = 2
    standard: str | None = None


@dataclass(frozen=True)
class DocxSettings:
    """The ``docx:`` section."""

    toc_page_numbers: bool = True


@dataclass(frozen=True)
class Config:
    """A report's settings, checked. Paths are absolute and inside the report folder."""

    folder: Path
    title: str
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    organisation: str | None = None
    date: dt.date | None = None
    lang: str | None = None
    """As written in report.yaml; :attr:`language` is the one in effect."""
    bibliography: Path | None = None
    citation_styles: tuple[str, ...] = ("apa",)
    formats: tuple[str, ...] = FORMATS
    output: str = "report"
    sections: tuple[Path, ...] | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    keywords: tuple[str, ...] = ()
    logo: Path | None = None
    page: PageSettings = field(default_factory=PageSettings)
    pdf: PdfSettings = field(default_factory=PdfSettings)
    docx: DocxSettings = field(default_factory=DocxSettings)
    unsafe_html: str = "remove"
    number_sections: bool = False

    @property
    def language(self) -> str:
        return self.lang or DEFAULT_LANGUAGE

    def edition_stem(self, style: str) -> str:
        """Editions' file name without extension: ``output``, or ``output-STYLE`` when
        several styles are built side by side."""
        return self.output if len(self.citation_styles) == 1 else f"{self.output}-{style}"

    def rel(self, path: Path) -> str:
        """``path`` as shown to the user: relative to the report folder when inside it."""
        try:
            return path.relative_to(self.folder).as_posix()
        except ValueError:
            return str(path)


# A checker takes the raw YAML value and returns (value, error message or None).
Checker = Callable[[Any], tuple[Any, str | None]]


def _text(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and value.strip():
        return value.strip(), None
    return None, f"expected a non-empty string, got {_kind(value)}"


def _authors(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value), None
    return None, f"expected a name or a list of names, got {_kind(value)}"


def _date(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()), None
        except ValueError:
            pass
    return None, f"expected a date as YYYY-MM-DD, got {value!r}"


def _lang(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and _LANG.match(value):
        return value, None
    return None, f"expected a language tag such as en-US, de-DE or ko-KR, got {value!r}"


def _formats(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, list) or not value:
        return None, f"expected a list of formats from {', '.join(FORMATS)}, got {_kind(value)}"
    bad = [v for v in value if v not in FORMATS]
    if bad:
        hint = did_you_mean(str(bad[0]), FORMATS)
        return None, f"unknown format {bad[0]!r}{hint}; choose from {', '.join(FORMATS)}"
    return tuple(dict.fromkeys(value)), None


def _styles(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(dict.fromkeys(v.strip() for v in value)), None
    return None, f"expected a style name or path, or a list of them, got {_kind(value)}"


def _output(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and _OUTPUT.match(value):
        return value, None
    return None, f"expected a file name without folder or extension, got {value!r}"


def _path_list(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(value), None
    return None, f"expected a list of file paths, got {_kind(value)}"


def _words(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value), None
    return None, f"expected a list of words, got {_kind(value)}"


def _choice(*choices: str) -> Checker:
    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, str) and value.lower() in choices:
            return value.lower(), None
        hint = did_you_mean(str(value), choices)
        return None, f"expected one of {', '.join(choices)}, got {value!r}{hint}"

    return check


def _margins(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and _MARGINS.match(value.strip()):
        return value.strip(), None
    return None, f"expected one to four lengths such as '25mm 22mm' or '1in', got {value!r}"


def _flag(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return value, None
    return None, f"expected true or false, got {value!r}"


def _depth(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 3:
        return value, None
    return None, f"expected 1, 2 or 3, got {value!r}"


def _mapping(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return dict(value), None
    return None, f"expected a mapping of names to values, got {_kind(value)}"


@dataclass(frozen=True)
class Field:
    key: str
    check: Checker
    doc: str
    required: bool = False
    name: str | None = None
    """The Config attribute, when it is not the key with underscores."""
    section: tuple[Field, ...] = ()
    """For a mapping of settings (``pdf:``): its own fields."""

    @property
    def attr(self) -> str:
        return self.name or self.key.replace("-", "_")


PAGE_FIELDS: tuple[Field, ...] = (
    Field("paper", _choice("a4", "letter", "a5", "legal"), "Paper size."),
    Field("margins", _margins, "Page margins, as CSS: '25mm 22mm' (top/bottom, left/right)."),
    Field(
        "numbers",
        _choice("plain", "page-of-total", "none"),
        "'plain' (3), 'page-of-total' (Page 3 of 24) or 'none'.",
    ),
    Field("furniture-on-cover", _flag, "Running head and page number on the cover/title page."),
)
PDF_FIELDS: tuple[Field, ...] = (
    Field("toc-depth", _depth, "Heading levels listed in the table of contents (1-3)."),
    Field("standard", _choice("none", "ua-1", "a-3u"), "'ua-1' (PDF/UA-1) or 'a-3u' (PDF/A-3u)."),
)
DOCX_FIELDS: tuple[Field, ...] = (
    Field(
        "toc-page-numbers",
        _flag,
        "Fill the contents' page numbers by laying the document out with LibreOffice, if present.",
    ),
)

FIELDS: tuple[Field, ...] = (
    Field("title", _text, "The report's title: cover, running heads, document properties.", True),
    Field("subtitle", _text, "Shown under the title on the cover and title block."),
    Field("authors", _authors, "A name or a list of names."),
    Field("organisation", _text, "The publishing organisation, shown on the cover."),
    Field("date", _date, "Publication date, YYYY-MM-DD; {{ report.date }} in content."),
    Field("lang", _lang, "Language tag (BCP 47): citation terms, hyphenation, spell checking."),
    Field("bibliography", _text, "CSL-JSON (or .bib, .yaml, .ris) file, relative to the folder."),
    Field(
        "citation-style",
        _styles,
        "CSL style name or .csl path; a list builds one set of editions per style.",
        name="citation_styles",
    ),
    Field("formats", _formats, "Editions to build: any of pdf, docx, html."),
    Field("output", _output, "File name of the editions in output/, without extension."),
    Field("sections", _path_list, "Section files in reading order; default: content/*.md by name."),
    Field("variables", _mapping, "Extra values for the Jinja templates of the content."),
    Field("description", _text, "A sentence or two on the report: PDF subject, HTML description."),
    Field("keywords", _words, "Keywords for the document properties of every edition."),
    Field("logo", _text, "Image for the cover and title block, relative to the report folder."),
    Field(
        "unsafe-html",
        _choice("remove", "refuse"),
        "Raw HTML that could run code or load remote files: 'remove' it (a warning), or 'refuse'.",
    ),
    Field("number-sections", _flag, "Number the headings (1, 1.1, 1.1.1) in every edition."),
    Field("page", _mapping, "Page set-up of the PDF and DOCX editions.", section=PAGE_FIELDS),
    Field("pdf", _mapping, "Settings of the PDF edition.", section=PDF_FIELDS),
    Field("docx", _mapping, "Settings of the DOCX edition.", section=DOCX_FIELDS),
)


def load_config(folder: Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read and check ``folder/report.yaml``; command-line ``overrides`` win over the file."""
    folder = folder.resolve()
    path = folder / CONFIG_NAME
    shown = CONFIG_NAME
    if not folder.is_dir():
        said = "no such folder" if not folder.exists() else "not a folder: a report is a folder"
        raise BuildError([Problem(str(folder), None, said, "config.missing")])
    if not path.is_file():
        raise BuildError(
            [Problem(str(path), None, "no report.yaml in this folder", "config.missing")]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(
            [Problem(shown, None, f"cannot read: {exc}", "config.unreadable")]
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Where the broken construct began, if YAML says; else where it noticed.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        where = f" (column {mark.column + 1})" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise BuildError(
            [Problem(shown, line, f"YAML syntax: {reason}{where}", "config.syntax")]
        ) from None
    lines = _key_lines(node)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BuildError([Problem(shown, 1, "expected a mapping of keys to values", "config.type")])

    problems: list[Problem] = []
    entries = [(k, v, shown) for k, v in raw.items()]
    entries += [(k, v, "command line") for k, v in (overrides or {}).items() if v is not None]
    values = _check(FIELDS, entries, "", lines, problems)
    for spec in FIELDS:
        if spec.required and spec.attr not in values and spec.key not in raw:
            problems.append(
                Problem(shown, None, f"missing required key '{spec.key}'", "config.required")
            )
    for key, cls in (("page", PageSettings), ("pdf", PdfSettings), ("docx", DocxSettings)):
        if isinstance(values.get(key), dict):
            values[key] = cls(**values[key])

    bib = values.get("bibliography", "content/references.json")
    values["bibliography"] = _inside(folder, bib, shown, lines.get("bibliography"), problems)
    if "logo" in values:
        values["logo"] = _inside(folder, values["logo"], shown, lines.get("logo"), problems)
    if "sections" in values:
        values["sections"] = tuple(
            _inside(folder, p, shown, lines.get("sections"), problems) for p in values["sections"]
        )
    if problems:
        raise BuildError(problems)
    return Config(folder=folder, **values)


def _check(
    fields: tuple[Field, ...],
    entries: list[tuple[Any, Any, str]],
    prefix: str,
    lines: dict[str, int],
    problems: list[Problem],
) -> dict[str, Any]:
    """Check ``(key, value, origin)`` entries against ``fields``; returns values by attribute."""
    by_key = {f.key: f for f in fields}
    values: dict[str, Any] = {}
    for key, value, origin in entries:
        path = f"{prefix}{key}"
        line = lines.get(path) if origin == CONFIG_NAME else None
        spec = by_key.get(str(key))
        if spec is None:
            hint = did_you_mean(str(key), by_key)
            message = f"unknown key '{path}'{hint}"
            problems.append(Problem(origin, line, message, "config.unknown-key"))
            continue
        checked, error = spec.check(value)
        if error:
            problems.append(Problem(origin, line, f"'{path}': {error}", "config.type"))
        elif spec.section:
            inner = [(k, v, origin) for k, v in checked.items()]
            values[spec.attr] = _check(spec.section, inner, f"{path}.", lines, problems)
        else:
            values[spec.attr] = checked
    if "standard" in values and values["standard"] == "none":
        values["standard"] = None
    return values


def _inside(folder: Path, rel: str, shown: str, line: int | None, problems: list[Problem]) -> Path:
    """Resolve ``rel`` against the report folder; it must exist and stay inside it."""
    path = (folder / rel).resolve()
    if not path.is_relative_to(folder):
        problems.append(
            Problem(shown, line, f"'{rel}' is outside the report folder", "config.path")
        )
    elif not path.is_file():
        problems.append(Problem(shown, line, f"'{rel}' does not exist", "config.path"))
    return path


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Line (1-based) of each key of a composed YAML mapping, nested ones as ``pdf.paper``."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    lines: dict[str, int] = {}
    for key, value in node.value:
        path = f"{prefix}{key.value}"
        lines[path] = key.start_mark.line + 1
        lines.update(_key_lines(value, f"{path}."))
    return lines


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), type(value).__name__
    )
