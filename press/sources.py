"""Section sources: ``content/*.md`` -> rendered Markdown, each keeping its file.

Each source is a Jinja template rendered with the report's values, so
``{{ report.date }}`` or ``{{ budget }}`` (from ``variables:``) work in prose.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from press import templating
from press.config import Config
from press.errors import BuildError, Problem, warning

CONTENT_DIR = "content"
log = logging.getLogger("press")


@dataclass(frozen=True)
class Section:
    """One source file: where it is, what was written, and what Jinja made of it."""

    path: Path
    shown: str
    source: str
    text: str
    front_matter: dict[str, Any] = field(default_factory=dict)

    def line_of(self, needle: str) -> int | None:
        """First line (1-based) of the source that contains ``needle``."""
        for number, line in enumerate(self.source.splitlines(), start=1):
            if needle in line:
                return number
        return None


def source_paths(config: Config) -> list[Path]:
    if config.sections is not None:
        return list(config.sections)
    return sorted((config.folder / CONTENT_DIR).glob("*.md"))


def report_values(config: Config) -> dict[str, Any]:
    """What content and page templates see: ``report`` plus the config's ``variables``."""
    report = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in ("folder", "variables", "sections", "bibliography")
    }
    report["lang"] = config.language
    return {**config.variables, "report": report}


def load_sections(config: Config) -> list[Section]:
    paths = source_paths(config)
    if not paths:
        where = config.rel(config.folder / CONTENT_DIR)
        raise BuildError([Problem(where, None, "no Markdown sections (*.md) found", "source.none")])
    env = templating.environment([config.folder], html=False)
    values = report_values(config)
    sections: list[Section] = []
    problems: list[Problem] = []
    for path in paths:
        shown = config.rel(path)
        try:
            source = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            problems.append(Problem(shown, line, "not valid UTF-8 text", "source.encoding"))
            continue
        except OSError as exc:
            problems.append(
                Problem(shown, None, f"cannot read: {exc.strerror}", "source.unreadable")
            )
            continue
        try:
            front = front_matter(source)
        except FrontMatterError as exc:
            problems.append(Problem(shown, exc.line, str(exc), "source.front-matter"))
            continue
        text = without_front_matter(source)  # what Jinja would give back, if no Jinja in it
        try:
            if _TEMPLATED.search(source):
                template = env.get_template(path.relative_to(config.folder).as_posix())
                text = template.render({**values, "page": front})
        except jinja2.TemplateError as exc:
            problems.append(templating.problem(exc, _shown_in(config), "source.template"))
            continue
        for line in _old_comments(source):
            log.warning(warning(shown, line, OLD_COMMENT, "source.comment"))
        sections.append(Section(path, shown, source, text, front))
    if problems:
        raise BuildError(problems)
    return sections


OLD_COMMENT = (
    "'{# ... #}' is not a comment in a section ('{#' begins pandoc's attributes): write"
    " '{## ... ##}'"
)
_OLD_COMMENT = re.compile(r"\{#(?!#).*?#\}", re.S)
"""Jinja's own comment, which in a section is text (:data:`templating.CONTENT_COMMENTS`);
pandoc's attributes (``{#findings}``) hold no ``#}``."""


def _old_comments(source: str) -> list[int]:
    """The line of each ``{# ... #}`` in ``source``."""
    if "{#" not in source:
        return []
    return [source.count("\n", 0, m.start()) + 1 for m in _OLD_COMMENT.finditer(source)]


class FrontMatterError(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


_TEMPLATED = re.compile(
    r"\{[{%]|" + re.escape(templating.CONTENT_COMMENTS["comment_start_string"]) + r"|\r"
)
"""What Jinja reads in a text (its delimiters) or changes (``\\r\\n`` made ``\\n``). A text
without it renders as itself, its front matter blanked, and is not compiled (x50: 350
sections, 0.3 s of every build)."""
_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(\n|\Z)", re.S)


def front_matter(source: str) -> dict[str, Any]:
    """The YAML block a section may open with (``page.*`` in its template); {} if none."""
    match = _FRONT.match(source)
    if not match:
        return {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        # Where the broken construct began, if YAML says; else where it noticed.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise FrontMatterError(f"front matter: {reason}", line) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError("front matter: expected a mapping of keys to values", 2)
    return data


def without_front_matter(source: str) -> str:
    """``source`` with its front matter blanked out, so line numbers stay the same."""
    match = _FRONT.match(source)
    if not match:
        return source
    return "\n" * match.group(0).count("\n") + source[match.end() :]


def _shown_in(config: Config) -> Callable[[str], str | None]:
    """Map a file name to its place in the report folder (None for anything else)."""

    def shown_of(filename: str) -> str | None:
        path = Path(filename)
        return (
            config.rel(path) if path.is_absolute() and path.is_relative_to(config.folder) else None
        )

    return shown_of
