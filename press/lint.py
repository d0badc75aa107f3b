"""Bibliography lint: entries that are missing, unused, duplicated, or will render badly.

Each finding names the entry's file and line and carries a code. Errors: a
citation with no entry. Warnings: everything that still builds but a careful
editor would want to know before publishing.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections import defaultdict
from typing import Any

from lxml import etree

from press.bibliography import Bibliography
from press.errors import Problem, did_you_mean
from press.styles import CSL_NS, Style

SCRAPER_TITLES = re.compile(
    r"accept terms and conditions|just a moment|access denied|page not found|404 not found|"
    r"attention required|are you a robot|captcha|forbidden|sign in|log ?in to|subscribe to read|"
    r"enable javascript|cookie",
    re.IGNORECASE,
)
DEV_HOSTS = re.compile(
    r"(^|[.-])(dev|staging|stage|test|preview|qa|uat)([.-]|\d)|localhost|\.local$|bivings\.com$",
    re.IGNORECASE,
)
DOMAIN = re.compile(r"^(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$", re.IGNORECASE)
DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def lint(
    bibliography: Bibliography, cited: list[str], style: Style, today: dt.date
) -> list[Problem]:
    """Every finding on ``bibliography`` as cited by the report, for ``style``."""
    findings: list[Problem] = []
    shown = bibliography.shown
    known = set(bibliography.ids)
    by_id = {str(e["id"]): e for e in bibliography.entries}

    def at(key: str, code: str, message: str, severity: str = "warning") -> None:
        line = bibliography.lines.get(key)
        findings.append(Problem(shown, line, f"'{key}': {message}", code, severity))

    for key in cited:
        if key not in known:
            hint = did_you_mean(key, known)
            findings.append(
                Problem(shown, None, f"cited but missing: '{key}'{hint}", "lint.missing", "error")
            )
    for key in bibliography.ids:
        if key not in cited:
            at(key, "lint.uncited", "listed but never cited")

    needs = style_variables(style)
    prints_date = "issued" in needs
    for key, entry in by_id.items():
        if key not in cited:
            continue
        title = entry.get("title")
        if not title:
            at(key, "lint.no-title", "no title: the entry is named by its author or site alone")
        elif SCRAPER_TITLES.search(str(title)):
            at(key, "lint.scraper-title", f"title looks like a scraper artefact: {title!r}")
        if prints_date and "issued" not in entry:
            at(key, "lint.no-date", f"no date: {style.name} prints it as 'n.d.'")
        for author in _first_authors(entry):
            if "literal" in author and DOMAIN.match(str(author["literal"])):
                at(key, "lint.domain-author", f"author is a bare web domain: {author['literal']}")
        url = str(entry.get("URL") or "")
        if url:
            _url_findings(key, url, at)
        doi = entry.get("DOI")
        if doi and not DOI.match(str(doi).strip()):
            at(key, "lint.doi", f"DOI is not well formed: {doi!r}")
        _date_findings(key, entry, today, at)
        for field, kinds in REQUIRED.items():
            if field in needs and entry.get("type") in kinds and field not in entry:
                at(
                    key,
                    "lint.missing-field",
                    f"{style.name} prints '{field}' for {entry['type']} entries, and it is missing",
                )
        note = str(entry.get("note") or "")
        if note.lower().startswith("reconstructed"):
            at(
                key,
                "lint.reconstructed",
                "reconstructed from an in-text citation: check the source",
            )

    _same_target(by_id, cited, at)
    _collisions(by_id, cited, at)
    return findings


# Fields a style that prints them needs, for the item types where their absence shows.
REQUIRED = {
    "URL": {"webpage", "post", "post-weblog"},
    "container-title": {"article-journal", "article-newspaper", "article-magazine", "chapter"},
    "publisher": {"book", "report"},
}


def style_variables(style: Style) -> set[str]:
    """Variables the style's bibliography prints (through its macros)."""
    root = etree.parse(str(style.path), etree.XMLParser(no_network=True)).getroot()
    macros = {m.get("name"): m for m in root.iter(f"{CSL_NS}macro")}
    found: set[str] = set()
    seen: set[str] = set()
    bibliography = root.find(f"{CSL_NS}bibliography")
    stack = [bibliography] if bibliography is not None else []
    while stack:
        node = stack.pop()
        for element in node.iter():
            for variable in (element.get("variable") or "").split():
                found.add(variable)
            name = element.get("macro")
            if name and name not in seen and name in macros:
                seen.add(name)
                stack.append(macros[name])
    return found


def _first_authors(entry: dict[str, Any]) -> list[dict[str, Any]]:
    names = entry.get("author") or entry.get("editor") or []
    return [n for n in names if isinstance(n, dict)][:1]


def _url_findings(key: str, url: str, at: Any) -> None:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if DEV_HOSTS.search(host):
        at(key, "lint.dev-host", f"URL points at a development or staging host: {host}")
    decoded = urllib.parse.unquote(url)
    base = f"{parts.scheme}://{parts.netloc}"
    if decoded.count(base) > 1 and url.count(base) == 1:
        at(key, "lint.url-repeats", "URL contains an encoded copy of itself")


def _date_findings(key: str, entry: dict[str, Any], today: dt.date, at: Any) -> None:
    accessed = _date(entry.get("accessed"))
    issued = _date(entry.get("issued"))
    if accessed and accessed > today:
        at(key, "lint.accessed", f"accessed date {accessed.isoformat()} is in the future")
    if accessed and issued and accessed < issued:
        at(key, "lint.accessed", "accessed before it was issued")


def _date(value: Any) -> dt.date | None:
    try:
        parts = [int(p) for p in value["date-parts"][0]]
        month, day = [*parts[1:], 1, 1][:2]
        return dt.date(parts[0], month, day)
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def _same_target(by_id: dict[str, dict[str, Any]], cited: list[str], at: Any) -> None:
    targets: dict[str, list[str]] = defaultdict(list)
    for key, entry in by_id.items():
        for field in ("DOI", "URL"):
            value = str(entry.get(field) or "").strip().lower().rstrip("/")
            if value:
                targets[f"{field} {value}"].append(key)
    for target, keys in targets.items():
        if len(keys) > 1:
            at(keys[1], "lint.same-target", f"same {target.split()[0]} as '{keys[0]}'")


def _collisions(by_id: dict[str, dict[str, Any]], cited: list[str], at: Any) -> None:
    """Entries whose first author and year coincide: the style adds letters (n.d.-a, 2024a)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in cited:
        entry = by_id.get(key)
        if entry is None:
            continue
        authors = _first_authors(entry)
        if not authors:
            continue
        name = str(authors[0].get("family") or authors[0].get("literal") or "")
        issued = _date(entry.get("issued"))
        groups[(name.lower(), str(issued.year) if issued else "n.d.")].append(key)
    for (_name, year), keys in groups.items():
        if len(keys) > 1:
            for key in keys:
                others = ", ".join(k for k in keys if k != key)
                at(
                    key,
                    "lint.disambiguated",
                    f"same author and year ({year}) as {others}: lettered",
                )
