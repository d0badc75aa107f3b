"""Bibliography + CSL style -> one processed document (pandoc's citeproc, run once).

Each section is parsed by pandoc on its own (so footnote labels and reference
links never collide across files), every citation key is checked against the
bibliography with its file and line, and then citeproc runs **once** on the
assembled document. Every edition is written from that one result.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import citeproc
from lxml import etree

from press import cache, givennames, pandoc
from press.assets import embed_images
from press.bibliography import Bibliography
from press.config import Config
from press.errors import BuildError, Problem, did_you_mean
from press.safety import is_unsafe, remove_unsafe
from press.sources import Section
from press.styles import Style, by_cite, without_given_names

READER = "markdown"
log = logging.getLogger("press")


@dataclass(frozen=True)
class Parsed:
    """The report parsed and checked once, the same for every style: citeproc's input."""

    ast: pandoc.Node
    bibliography: Bibliography
    cited: tuple[str, ...]
    """Bibliography ids in order of first citation."""
    places: tuple[tuple[str, int | None, str], ...] = ()
    """(file, line, keys) of each citation, in document order."""


@dataclass(frozen=True)
class Document:
    """The processed report: pandoc's AST with citations and bibliography rendered."""

    ast: pandoc.Node
    style: Style
    locale: str
    """The locale citeproc used for terms and dates."""
    cited: tuple[str, ...]
    outline: bool = False
    """A draft of the report's headings alone, its citations not yet rendered: what the
    editions may rehearse from it is the contents (:func:`resolve`)."""

    @property
    def blocks(self) -> list[pandoc.Node]:
        return self.ast["blocks"]

    @functools.cached_property
    def json(self) -> str:
        """The AST as pandoc reads it, made once: made in the main process before the writers'
        processes are forked, it spares each of them a walk over the AST, which would copy
        every page of it that they share (x50: ~100 MiB in each)."""
        return json.dumps(self.ast)

    @functools.cached_property
    def headings(self) -> tuple[tuple[int, str, str], ...]:
        """Each heading of the body (not those in lists or quotes): its level, identifier
        and text; what the editions' contents list. Made once, like :attr:`json`."""
        return tuple(
            (node["c"][0], node["c"][1][0], pandoc.stringify(node["c"][2]))
            for node in self.blocks
            if node["t"] == "Header"
        )

    @functools.cached_property
    def digest(self) -> str:
        """A hash of the AST (cache keys)."""
        return hashlib.sha256(self.json.encode()).hexdigest()


def parse(config: Config, sections: list[Section], bibliography: Bibliography) -> Parsed:
    """Parse every section, check its citations and images, and assemble one document."""
    parsed = _parsed(sections)
    known = set(bibliography.ids)
    problems: list[Problem] = []
    cited: dict[str, None] = {}
    places: list[tuple[str, int | None, str]] = []
    for index, section in enumerate(sections):
        parsed[index], found, cites = _checked(parsed[index], section, config)
        problems += [p for p in found if p.severity == "error"]
        for warned in (p for p in found if p.severity == "warning"):
            log.warning(warned)
        for keys in cites:
            places.append((section.shown, keys[0][1], ", ".join(key for key, _ in keys)))
            for key, line in keys:
                cited.setdefault(key)
                if key not in known:
                    hint = did_you_mean(key, known)
                    message = f"unknown citation key '{key}'{hint}"
                    problems.append(Problem(section.shown, line, message, "citation.unknown-key"))
    if problems:
        raise BuildError(_unique(problems))

    blocks = [block for doc in parsed for block in doc["blocks"]]
    nodes = list(pandoc.walk(blocks))  # one walk of the whole report for both (x50: 0.07 s)
    _unique_ids(nodes)
    if not any(_is_refs(node) for node in nodes):
        title = references_title(config.language)
        blocks.append(_header(1, "references", title, ["unnumbered"]))
        blocks.append({"t": "Div", "c": [["refs", [], []], []]})
    if config.number_sections:
        blocks = number_sections(blocks)
    ast = {**parsed[0], "blocks": blocks, "meta": {}}
    return Parsed(ast=ast, bibliography=bibliography, cited=tuple(cited), places=tuple(places))


def number_sections(blocks: list[pandoc.Node]) -> list[pandoc.Node]:
    """Headings numbered 1, 1.1, 1.1.1 in their text, so every edition shows the same numbers."""
    counters = [0] * 6

    def number(node: pandoc.Node) -> pandoc.Node:
        if node["t"] != "Header" or "unnumbered" in node["c"][1][1]:
            return node
        level = node["c"][0]
        counters[level - 1] += 1
        counters[level:] = [0] * (6 - level)
        label = ".".join(str(n) for n in counters[:level])
        span = {"t": "Span", "c": [["", ["header-section-number"], []], [{"t": "Str", "c": label}]]}
        return {"t": "Header", "c": [level, node["c"][1], [span, {"t": "Space"}, *node["c"][2]]]}

    result: list[pandoc.Node] = pandoc.transform(blocks, number)
    return result


LONG_CITEPROC = 1000
"""Citations from which citeproc is long enough to rehearse the editions meanwhile
(:func:`resolve`): 1,650 at x50 take 12-30 s, 330 at x10 under a second."""

Rehearsal = Callable[[Callable[[], Document]], AbstractContextManager[None]]
"""What runs while citeproc does, given a draft of the processed document (made when asked)."""


def resolve(
    parsed: Parsed, style: Style, locale: str, meanwhile: Rehearsal | None = None
) -> Document:
    """Format every citation and the bibliography: pandoc's citeproc, once for ``style``.

    For author-date and numeric styles citeproc sees only the citations, in order, and the
    results are put back in place: a citation renders the same whatever prose surrounds
    it, so an edit that changes no citation reuses the cached result. Note styles see the
    whole document (citeproc turns citations into footnotes and moves them past
    punctuation, which depends on the text).

    In a long report (:data:`LONG_CITEPROC`) under a style that adds given names to tell
    authors apart across the whole report (APA), citeproc spends most of its time on that:
    x50 with 2,300 distinct sources, 21-35 s instead of 1.5-2.1. Where adding them cite by cite
    renders every citation and the bibliography the same (:mod:`press.givennames`: no two
    first authors share a family, nor do two names of sources that could read alike, as in
    the embedded report and both x50 kinds), citeproc runs so. Otherwise, while it runs, the
    same citations go through the style without given names, and ``meanwhile`` is given that
    draft until the real document comes (the editions rehearse from it:
    :func:`press.editions.rehearsal`). Before that draft, or without one, ``meanwhile`` is
    given the report's outline, its headings alone, from which the PDF's contents get their
    first try (:func:`_outline`). Every edition is written from the real one; a wrong draft
    only costs the processor time citeproc left unused.
    """
    meta = {"lang": locale, "link-citations": "true", "link-bibliography": "true"}
    place = f"citations ({style.name})"
    source = parsed.ast if style.note else _skeleton(parsed.ast)
    long = len(parsed.places) > LONG_CITEPROC
    rehearse = None
    if meanwhile is not None and long:

        def rehearse(printed: bytes | None) -> AbstractContextManager[None]:
            """The editions rehearsed from citeproc's draft, or (None) from the outline."""
            if printed is None:
                return meanwhile(lambda: _outline(parsed, style, locale))
            return meanwhile(lambda: _document(parsed, style, locale, json.loads(printed)))

    rendered = _citeproc(source, parsed.bibliography, style, meta, place, long, rehearse)
    return _document(parsed, style, locale, rendered)


def _outline(parsed: Parsed, style: Style, locale: str) -> Document:
    """The report's headings alone (:attr:`Document.outline`)."""
    headings = [block for block in parsed.ast["blocks"] if block["t"] == "Header"]
    ast = {**parsed.ast, "blocks": headings, "meta": {}}
    return Document(ast=ast, style=style, locale=locale, cited=parsed.cited, outline=True)


def _document(parsed: Parsed, style: Style, locale: str, rendered: pandoc.Node) -> Document:
    """The processed report from what citeproc made of it (of its citations alone, put back
    in place, unless the style puts them in notes)."""
    if style.note:
        processed = rendered
        cites = _cites(processed)
    else:
        cites = _cites(rendered)
        processed = _put_back(parsed.ast, rendered, cites)
    processed["meta"] = {}
    empty = [
        Problem(
            shown, line, f"citation of {keys} renders as nothing in {style.name}", "citation.empty"
        )
        for cite, (shown, line, keys) in zip(cites, parsed.places, strict=False)
        if not pandoc.stringify(cite["c"][1]).strip() and not _has_note(cite)
    ]
    if empty:
        raise BuildError(empty)
    return Document(ast=processed, style=style, locale=locale, cited=parsed.cited)


def _citeproc(
    ast: pandoc.Node,
    bibliography: Bibliography,
    style: Style,
    meta: dict[str, str],
    place: str,
    long: bool = False,
    rehearse: Callable[[bytes | None], AbstractContextManager[None]] | None = None,
) -> pandoc.Node:
    """pandoc's citeproc on ``ast``, cached by everything it reads. If ``long``, under the
    style's by-cite copy where that renders the same (:func:`_as_quick`). With ``rehearse``,
    when it runs (not when cached) the editions rehearse from the report's outline
    (``rehearse(None)``) until it is done; and under a style that adds given names
    (:func:`~press.styles.without_given_names`) it runs in a thread while the draft is made,
    and ``rehearse`` is given the draft too (:func:`resolve`)."""
    entries = bibliography.entries
    store = cache.active()
    digest = cache.key("citeproc", ast, entries, style.path.read_bytes(), meta)
    hit = store.get("citeproc", digest)
    if hit is not None:
        return dict(json.loads(hit))
    with (
        tempfile.TemporaryDirectory(prefix="press-") as tmp,
        rehearse(None) if rehearse else nullcontext(),  # the outline's, until citeproc is done
    ):
        bib_path = Path(tmp) / "bibliography.json"
        bib_path.write_text(json.dumps(entries, ensure_ascii=False), "utf-8")

        def args(csl: Path) -> list[str]:
            listed = ["--from", "json", "--citeproc", "--csl", str(csl)]
            listed += ["--bibliography", str(bib_path), "--to", "json"]
            for name, value in meta.items():
                listed += ["--metadata", f"{name}={value}"]
            return listed

        source = json.dumps(ast)
        csl = _as_quick(style.path, entries, Path(tmp), place) if long else style.path
        quick = without_given_names(csl, Path(tmp)) if rehearse and csl == style.path else None
        if rehearse is None or quick is None:
            printed = pandoc.run(args(csl), source, place=place)
        else:
            result = pandoc.started(args(style.path), source, place=place)
            draft = pandoc.attempt(args(quick), source)
            with rehearse(draft) if draft is not None else nullcontext():
                printed = result()
    store.put("citeproc", digest, printed)
    return dict(json.loads(printed))


def _as_quick(csl: Path, entries: list[dict[str, Any]], folder: Path, place: str) -> Path:
    """The style, or its copy in ``folder`` that adds given names cite by cite if that renders
    every citation as the style's own report-wide rule (:mod:`press.givennames`), judged on
    the sources as citeproc reads them."""
    quick = by_cite(csl, folder)
    if quick is None:
        return csl
    return quick.path if givennames.alike(as_citeproc_reads(entries, place), quick.rule) else csl


def as_citeproc_reads(entries: list[dict[str, Any]], place: str) -> list[dict[str, Any]]:
    """The sources as pandoc's citeproc reads them: its CSL JSON reader's names, split into
    their parts as it splits them (0.3 s for the x50 report's 2,300)."""
    args = ["--from", "csljson", "--to", "csljson"]
    read: list[dict[str, Any]] = json.loads(
        pandoc.run(args, json.dumps(entries, ensure_ascii=False), place=place)
    )
    return read


def _skeleton(ast: pandoc.Node) -> pandoc.Node:
    """The document's citations alone, in order (those in footnotes still in a note),
    and the bibliography's place."""
    blocks: list[pandoc.Node] = []

    def visit(value: Any, in_note: bool) -> None:
        if isinstance(value, list):
            for child in value:
                visit(child, in_note)
        elif isinstance(value, dict):
            kind = value.get("t")
            if kind == "Cite":
                para = {"t": "Para", "c": [value]}
                note = {"t": "Note", "c": [para]}
                blocks.append({"t": "Para", "c": [note]} if in_note else para)
                return
            if kind == "Div" and value["c"][0][0] == "refs":
                blocks.append(value)
                return
            visit(value.get("c"), in_note or kind == "Note")

    visit(ast["blocks"], False)
    return {**ast, "blocks": blocks, "meta": {}}


def _put_back(ast: pandoc.Node, rendered: pandoc.Node, cites: list[pandoc.Node]) -> pandoc.Node:
    """``ast`` with its citations and bibliography replaced by citeproc's rendering of them
    (``rendered``, whose citations are ``cites``)."""
    each = iter(cites)
    refs = next(n for n in pandoc.walk(rendered["blocks"]) if _is_refs(n))

    def swap(node: pandoc.Node) -> pandoc.Node:
        if node["t"] == "Cite":
            return next(each)
        if _is_refs(node):
            return refs
        return node

    return {**ast, "blocks": pandoc.transform(ast["blocks"], swap)}


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


PARSED_APART = 6
"""Sections per core up to which each is parsed by a run of pandoc of its own: a run starts in
4 ms, the Lua reader that parses several in one run in 30 (the embedded report's seven
sections: 60 ms of CPU in all instead of 110, the stage 0.13 s instead of 0.17)."""


def _parsed(sections: list[Section]) -> list[pandoc.Node]:
    """Each section parsed on its own: from the cache; else those not in it in one run of
    pandoc per core (:func:`press.pandoc.parse_apart`), or when they are few or pandoc had
    something to say, one run per section (then it says where)."""
    store = cache.active()
    keys = [cache.key("parse", READER, section.text) for section in sections]
    found = [store.get("parse", key) for key in keys]
    parsed = {keys[i]: hit for i, hit in enumerate(found) if hit}  # pandoc's JSON
    missing = list({key: i for i, key in enumerate(keys) if key not in parsed}.values())
    cores = os.cpu_count() or 1  # a text twice in the report is parsed once
    few = len(missing) <= PARSED_APART * cores
    batches = [] if few else [missing[k::cores] for k in range(cores)]

    def apart(batch: list[int]) -> list[str] | None:
        return pandoc.parse_apart([sections[i].text for i in batch], READER)

    def alone(i: int) -> bytes:
        args = ["--from", READER, "--to", "json"]
        return pandoc.run(args, sections[i].text, place=sections[i].shown)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for batch, docs in zip(batches, pool.map(apart, batches), strict=True):
            if docs is not None:  # else pandoc had something to say: each alone, below
                parsed.update((keys[i], doc.encode()) for i, doc in zip(batch, docs, strict=True))
        left = [i for i in missing if keys[i] not in parsed]
        parsed.update(zip((keys[i] for i in left), pool.map(alone, left), strict=True))
    for i in missing:
        store.put("parse", keys[i], parsed[keys[i]])
    return [json.loads(parsed[key]) for key in keys]  # each its own, to be changed apart


Cited = list[list[tuple[str, int | None]]]
"""Each citation of a section: each of its keys, with the line of the source it is on."""


def _checked(
    doc: pandoc.Node, section: Section, config: Config
) -> tuple[pandoc.Node, list[Problem], Cited]:
    """``doc`` (``section`` as parsed) with unsafe HTML removed and its images embedded,
    what was found on the way, and its citations. A section in which nothing was found and
    which has no image is as parsed: its citations are kept in the cache, and the next
    build takes them from there without walking it (x50, 350 sections: 0.7 s of every
    build); one with images is checked each time, as they may have changed."""
    refuse = config.unsafe_html == "refuse"
    store = cache.active()
    key = cache.key("checked", READER, section.shown, section.source, section.text, refuse)
    hit = store.get("checked", key)
    if hit is not None:
        return doc, [], [[(k, line) for k, line in cite] for cite in json.loads(hit)]
    nodes = list(pandoc.walk(doc["blocks"]))  # once: each step below changes few or none
    found: list[Problem] = []
    if any(is_unsafe(node) for node in nodes):
        doc, found = remove_unsafe(doc, section, refuse)
    images = any(node["t"] == "Image" for node in nodes)
    if images:
        doc, image_problems = embed_images(doc, section, config)
        found += image_problems
    lines = _key_lines(section.source)
    cites = [[(c["citationId"], lines.get(c["citationId"])) for c in node["c"][0]]
             for node in nodes if node["t"] == "Cite"]  # fmt: skip
    if not found and not images:  # nothing found, no image: as parsed
        store.put("checked", key, json.dumps(cites).encode())
    return doc, found, cites


def _cites(doc: pandoc.Node) -> list[pandoc.Node]:
    """The Cite elements of a document, in order (a Cite nested in a note follows its note)."""
    return [node for node in pandoc.walk(doc["blocks"]) if node["t"] == "Cite"]


def _has_note(cite: pandoc.Node) -> bool:
    notes = [n for n in pandoc.walk(cite["c"][1]) if n["t"] == "Note"]
    return any(pandoc.stringify(n["c"]).strip() for n in notes)


KEY = re.compile(r"@(?:\{([^}]*)\}|(\w[\w:.#$%&+?<>~/-]*))")
"""A citation key in Markdown, as pandoc reads it: braced, or a word and the punctuation
within it (what ends it is not part of it)."""


def _key_lines(source: str) -> dict[str, int]:
    """The first line of ``source`` on which each citation key is written."""
    lines: dict[str, int] = {}
    for number, line in enumerate(source.splitlines(), start=1):
        for match in KEY.finditer(line):
            braced, bare = match.groups()
            lines.setdefault(braced if braced is not None else bare.rstrip(":.#$%&+?<>~/-"), number)
    return lines


def _unique_ids(nodes: list[pandoc.Node]) -> None:
    """Give repeated header ids among ``nodes`` (one per file before assembly) a numeric
    suffix, in place."""
    seen: dict[str, int] = {}
    for node in nodes:
        if node["t"] == "Header":
            ident = node["c"][1][0]
            if ident in seen:
                seen[ident] += 1
                node["c"][1][0] = f"{ident}-{seen[ident]}"
            else:
                seen[ident] = 0


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
