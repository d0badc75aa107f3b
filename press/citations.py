"""Bibliography + CSL style -> one processed document (pandoc's citeproc, run once).

Each section is parsed by pandoc on its own (so footnote labels and reference
links never collide across files), every citation key is checked against the
bibliography with its file and line, and then citeproc runs **once** on the
assembled document. Every edition is written from that one result.
"""

from __future__ import annotations

import json
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import citeproc
from lxml import etree

from press import pandoc
from press.assets import embed_images
from press.config import Config
from press.errors import BuildError, Problem, did_you_mean
from press.sources import Section
from press.styles import Style

READER = "markdown"
_BIB_FORMATS = {".bib": "biblatex", ".bibtex": "bibtex", ".yaml": "csl-yaml", ".ris": "ris"}


@dataclass(frozen=True)
class Bibliography:
    shown: str
    entries: list[dict[str, Any]]
    lines: dict[str, int]

    @property
    def ids(self) -> list[str]:
        return [str(e["id"]) for e in self.entries]


@dataclass(frozen=True)
class Parsed:
    """The report parsed and checked once, the same for every style: citeproc's input."""

    ast: pandoc.Node
    bibliography: Bibliography
    cited: tuple[str, ...]
    """Bibliography ids in order of first citation."""


@dataclass(frozen=True)
class Document:
    """The processed report: pandoc's AST with citations and bibliography rendered."""

    ast: pandoc.Node
    style: Style
    locale: str
    """The locale citeproc used for terms and dates."""
    cited: tuple[str, ...]

    @property
    def blocks(self) -> list[pandoc.Node]:
        return self.ast["blocks"]


def load_bibliography(config: Config) -> Bibliography:
    path = config.bibliography
    assert path is not None
    shown = config.rel(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError([Problem(shown, None, f"cannot read: {exc}", "bib.unreadable")]) from None
    if path.suffix.lower() == ".json":
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"invalid JSON: {exc.msg} (column {exc.colno})"
            raise BuildError([Problem(shown, exc.lineno, message, "bib.json")]) from None
    elif path.suffix.lower() in _BIB_FORMATS:
        reader = _BIB_FORMATS[path.suffix.lower()]
        out = pandoc.run(["--from", reader, "--to", "csljson", str(path)], b"", place=shown)
        entries = json.loads(out)
    else:
        message = f"unknown bibliography format '{path.suffix}' (use .json, .bib, .yaml or .ris)"
        raise BuildError([Problem(shown, None, message, "bib.format")])
    if not isinstance(entries, list):
        raise BuildError([Problem(shown, 1, "expected a list of CSL-JSON entries", "bib.type")])
    occurrences = _entry_lines(text)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("id"):
            problems.append(Problem(shown, None, f"entry {index + 1} has no 'id'", "bib.no-id"))
            continue
        key = str(entry["id"])
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            at = occurrences.get(key, [])
            line = at[seen[key] - 1] if len(at) >= seen[key] else None
            first = f" (first at line {at[0]})" if at else ""
            problems.append(Problem(shown, line, f"duplicate id '{key}'{first}", "bib.duplicate"))
    if problems:
        raise BuildError(problems)
    lines = {key: at[0] for key, at in occurrences.items()}
    return Bibliography(shown, entries, lines)


def parse(config: Config, sections: list[Section], bibliography: Bibliography) -> Parsed:
    """Parse every section, check its citations and images, and assemble one document."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        parsed = list(pool.map(_parse, sections))
    known = set(bibliography.ids)
    problems: list[Problem] = []
    cited: dict[str, None] = {}
    for index, section in enumerate(sections):
        parsed[index], image_problems = embed_images(parsed[index], section, config)
        problems += image_problems
        for key in _cite_keys(parsed[index]):
            cited.setdefault(key)
            if key not in known:
                hint = did_you_mean(key, known)
                line = _line_of_key(section, key)
                message = f"unknown citation key '{key}'{hint}"
                problems.append(Problem(section.shown, line, message, "citation.unknown-key"))
    if problems:
        raise BuildError(_unique(problems))

    blocks = _unique_ids([block for doc in parsed for block in doc["blocks"]])
    if not any(_is_refs(b) for b in pandoc.walk(blocks)):
        title = references_title(config.language)
        blocks.append(_header(1, "references", title, ["unnumbered"]))
        blocks.append({"t": "Div", "c": [["refs", [], []], []]})
    ast = {**parsed[0], "blocks": blocks, "meta": {}}
    return Parsed(ast=ast, bibliography=bibliography, cited=tuple(cited))


def resolve(parsed: Parsed, style: Style, locale: str) -> Document:
    """Format every citation and the bibliography: pandoc's citeproc, run once for ``style``."""
    meta = {"lang": locale, "link-citations": "true", "link-bibliography": "true"}
    with tempfile.TemporaryDirectory(prefix="press-") as tmp:
        bib_path = Path(tmp) / "bibliography.json"
        entries = parsed.bibliography.entries
        bib_path.write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
        args = ["--from", "json", "--citeproc", "--csl", str(style.path)]
        args += ["--bibliography", str(bib_path)]
        for key, value in meta.items():
            args += ["--metadata", f"{key}={value}"]
        processed = pandoc.to_json(args, json.dumps(parsed.ast), place=f"citations ({style.name})")
    processed["meta"] = {}
    return Document(ast=processed, style=style, locale=locale, cited=parsed.cited)


def references_title(lang: str) -> str:
    """The CSL locale's word for "references" (plural), capitalised: the bibliography heading."""
    locales = Path(citeproc.LOCALES_PATH)
    candidates = [lang, lang.split("-")[0]]
    files = [locales / f"locales-{c}.xml" for c in candidates]
    files += sorted(locales.glob(f"locales-{lang.split('-')[0]}-*.xml"))
    for path in files:
        if path.is_file():
            root = etree.parse(str(path), etree.XMLParser(no_network=True)).getroot()
            ns = {"csl": "http://purl.org/net/xbiblio/csl"}
            found = root.xpath(
                "//csl:term[@name='reference' and not(@form)]/csl:multiple", namespaces=ns
            )
            if found and found[0].text:
                text = found[0].text.strip()
                return text[:1].upper() + text[1:]
    return "References"


def _parse(section: Section) -> pandoc.Node:
    return pandoc.to_json(["--from", READER], section.text, place=section.shown)


def _cite_keys(doc: pandoc.Node) -> list[str]:
    keys = []
    for node in pandoc.walk(doc["blocks"]):
        if node["t"] == "Cite":
            keys.extend(c["citationId"] for c in node["c"][0])
    return keys


def _line_of_key(section: Section, key: str) -> int | None:
    pattern = re.compile(r"@\{?" + re.escape(key) + r"(?![\w:.#$%&+?<>~/-]*\w)")
    for number, line in enumerate(section.source.splitlines(), start=1):
        if pattern.search(line):
            return number
    return None


def _entry_lines(text: str) -> dict[str, list[int]]:
    """Lines where each ``id`` stands in a bibliography file, found in its text."""
    lines: dict[str, list[int]] = {}
    pattern = re.compile(r'"id"\s*:\s*"([^"]+)"|^\s*id:\s*(\S+)|@\w+\{([^,\s]+),')
    for number, line in enumerate(text.splitlines(), start=1):
        for match in pattern.finditer(line):
            key = next(g for g in match.groups() if g)
            lines.setdefault(key.strip("'\""), []).append(number)
    return lines


def _unique_ids(blocks: list[pandoc.Node]) -> list[pandoc.Node]:
    """Give repeated header ids (one per file before assembly) a numeric suffix."""
    seen: dict[str, int] = {}
    for node in pandoc.walk(blocks):
        if node["t"] == "Header":
            ident = node["c"][1][0]
            if ident in seen:
                seen[ident] += 1
                node["c"][1][0] = f"{ident}-{seen[ident]}"
            else:
                seen[ident] = 0
    return blocks


def _is_refs(node: pandoc.Node) -> bool:
    return node["t"] == "Div" and node["c"][0][0] == "refs"


def _header(level: int, ident: str, text: str, classes: list[str]) -> pandoc.Node:
    words = text.split(" ")
    inlines: list[pandoc.Node] = []
    for i, word in enumerate(words):
        if i:
            inlines.append({"t": "Space"})
        inlines.append({"t": "Str", "c": word})
    return {"t": "Header", "c": [level, [ident, classes, []], inlines]}


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
