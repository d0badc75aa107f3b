"""Jinja environments for content and page templates, and their errors as problems.

Both are strict: a misspelt variable is an error with file and line, never an
empty string. Loaders only see the folders they are given, so ``{% include %}``
cannot reach outside the report (Jinja refuses ``..`` in template names).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import babel
import babel.dates
import jinja2
from jinja2.sandbox import SandboxedEnvironment

from press.errors import Problem

CONTENT_COMMENTS = {"comment_start_string": "{##", "comment_end_string": "##}"}
"""A Jinja comment in a section: ``{#`` opens pandoc's attributes (``# Findings {#findings}``,
``::: {#refs}``), which Jinja took for an unclosed comment."""


def environment(
    folders: Sequence[Path], *, html: bool, builtin: Path | None = None
) -> jinja2.Environment:
    """A sandboxed environment: templates come from the report, which is untrusted input.

    With ``builtin``, its templates are also reachable as ``press/NAME``, so a report's own
    ``web.html.j2`` can extend ``press/web.html.j2`` and override a single block.
    """
    loader: jinja2.BaseLoader = _Loader([str(f) for f in folders], html)
    if builtin is not None:
        prefixed = jinja2.PrefixLoader({"press": jinja2.FileSystemLoader(str(builtin))})
        loader = jinja2.ChoiceLoader([loader, prefixed])
    env = SandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
        **({} if html else CONTENT_COMMENTS),
    )
    env.filters["long_date"] = long_date
    return env


class _Loader(jinja2.FileSystemLoader):
    """Loads templates; for content (Markdown) it blanks out a section's YAML front matter."""

    def __init__(self, searchpath: list[str], html: bool) -> None:
        super().__init__(searchpath)
        self.html = html

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        if not self.html:
            from press.sources import without_front_matter

            source = without_front_matter(source)
        return source, filename, uptodate


def long_date(value: dt.date | None, lang: str = "en-US") -> str:
    """A date written out in the report's language: ``5 November 2024``, ``5. November 2024``."""
    if value is None:
        return ""
    try:
        return babel.dates.format_date(
            value, format="long", locale=babel.Locale.parse(lang, sep="-")
        )
    except (ValueError, babel.UnknownLocaleError):
        return value.isoformat()


def problem(exc: Exception, shown_of: Callable[[str], str | None], code: str) -> Problem:
    """A Jinja exception as a problem at the template file and line where it arose.

    ``shown_of`` maps a file name to how it is shown to the user, or None when the
    file is not one of the templates (a frame of Jinja's or press's own code).
    """
    if isinstance(exc, jinja2.TemplateSyntaxError):
        shown = shown_of(exc.filename or "") or exc.name or "template"
        return Problem(shown, exc.lineno, f"template syntax: {exc.message}", f"{code}.syntax")
    shown, line = _place(exc.__traceback__, shown_of)
    if isinstance(exc, jinja2.TemplateNotFound):
        message = f"template not found: '{exc.name}' (includes must stay inside the folder)"
        return Problem(shown, line, message, f"{code}.include")
    if isinstance(exc, jinja2.UndefinedError):
        return Problem(shown, line, f"undefined variable: {exc.message}", f"{code}.undefined")
    return Problem(shown, line, str(exc), f"{code}.error")


def _place(
    tb: TracebackType | None, shown_of: Callable[[str], str | None]
) -> tuple[str, int | None]:
    """The innermost template frame of a traceback that Jinja rewrote to template lines."""
    place: tuple[str, int | None] = ("template", None)
    while tb is not None:
        shown = shown_of(tb.tb_frame.f_code.co_filename)
        if shown is not None:
            place = (shown, tb.tb_lineno)
        tb = tb.tb_next
    return place
