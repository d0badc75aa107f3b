"""The bibliography: CSL-JSON (or BibTeX, CSL YAML, RIS through pandoc), checked.

Every entry needs an id, ids are unique, item types and the types of the date,
name and text fields are checked, each problem with the file and line where the
entry stands.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from press import pandoc
from press.config import Config
from press.errors import BuildError, Problem, did_you_mean

_BIB_FORMATS = {".bib": "biblatex", ".bibtex": "bibtex", ".yaml": "csl-yaml", ".ris": "ris"}


@dataclass(frozen=True)
class Bibliography:
    shown: str
    entries: list[dict[str, Any]]
    lines: dict[str, int]

    @property
    def ids(self) -> list[str]:
        return [str(e["id"]) for e in self.entries]


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
        try:
            out = pandoc.run(["--from", reader, "--to", "csljson", str(path)], b"", place=shown)
        except BuildError as exc:
            message = exc.problems[0].message
            found = re.search(r"line (\d+), column (\d+)\):\s*(.*)", message, re.S)
            if not found:
                raise
            reason = " ".join(found.group(3).split())
            text = f"{reader} syntax: {reason} (column {found.group(2)})"
            raise BuildError([Problem(shown, int(found.group(1)), text, "bib.syntax")]) from None
        entries = json.loads(out)
    else:
        message = f"unknown bibliography format '{path.suffix}' (use .json, .bib, .yaml or .ris)"
        raise BuildError([Problem(shown, None, message, "bib.format")])
    if not isinstance(entries, list):
        raise BuildError([Problem(shown, 1, "expected a list of CSL-JSON entries", "bib.type")])
    occurrences = _entry_lines(text)
    lines = text.splitlines()
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("id"):
            problems.append(Problem(shown, None, f"entry {index + 1} has no 'id'", "bib.no-id"))
            continue
        key = str(entry["id"])
        if path.suffix.lower() == ".json":
            problems += _field_problems(entry, shown, lines, occurrences.get(key, []))
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


def _field_problems(
    entry: dict[str, Any], shown: str, lines: list[str], at: list[int]
) -> list[Problem]:
    """Fields of a CSL-JSON entry with the wrong type, or an unknown item type."""
    key = entry["id"]
    start = at[0] if at else None

    def line_of(field: str) -> int | None:
        if start is None:
            return None
        order = list(range(start - 1, min(len(lines), start + 60)))
        order += list(range(start - 2, max(-1, start - 60), -1))
        return next((i + 1 for i in order if f'"{field}"' in lines[i]), start)

    problems = []
    kind = entry.get("type")
    if not isinstance(kind, str) or kind not in CSL_TYPES:
        hint = did_you_mean(str(kind), CSL_TYPES)
        message = f"entry '{key}': unknown item type {kind!r}{hint}"
        problems.append(Problem(shown, line_of("type"), message, "bib.type"))
    for field, value in entry.items():
        if field in CSL_DATES and not _is_date(value):
            message = (
                f"entry '{key}': '{field}' must be a date such as "
                f'{{"date-parts": [[2024, 11, 5]]}}, not {value!r}'
            )
            problems.append(Problem(shown, line_of(field), message, "bib.field-type"))
        elif field in CSL_NAMES and not _is_names(value):
            message = (
                f"entry '{key}': '{field}' must be a list of names such as "
                f'[{{"family": "Kim", "given": "J."}}] or [{{"literal": "NCNK"}}]'
            )
            problems.append(Problem(shown, line_of(field), message, "bib.field-type"))
        elif field not in CSL_DATES | CSL_NAMES and not isinstance(value, str | int | float):
            message = f"entry '{key}': '{field}' must be text or a number"
            problems.append(Problem(shown, line_of(field), message, "bib.field-type"))
    return problems


def _is_date(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    parts = value.get("date-parts")
    if parts is None:
        return any(isinstance(value.get(k), str) for k in ("raw", "literal"))
    return (
        isinstance(parts, list)
        and 0 < len(parts) <= 2
        and all(
            isinstance(p, list) and 0 < len(p) <= 3 and all(_is_number(x) for x in p) for p in parts
        )
    )


def _is_number(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.strip().lstrip("-").isdigit()
    )


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(n, dict)
        and any(isinstance(n.get(k), str) for k in ("family", "literal", "given"))
        for n in value
    )


CSL_TYPES = frozenset(
    (
        "article", "article-journal", "article-magazine", "article-newspaper", "bill", "book",
        "broadcast", "chapter", "classic", "collection", "dataset", "document", "entry",
        "entry-dictionary", "entry-encyclopedia", "event", "figure", "graphic", "hearing",
        "interview", "legal_case", "legislation", "manuscript", "map", "motion_picture",
        "musical_score", "pamphlet", "paper-conference", "patent", "performance", "periodical",
        "personal_communication", "post", "post-weblog", "regulation", "report", "review",
        "review-book", "software", "song", "speech", "standard", "thesis", "treaty", "webpage",
    )
)  # fmt: skip

CSL_DATES = frozenset(
    (
        "accessed", "available-date", "event-date", "issued", "original-date", "submitted",
    )
)  # fmt: skip

CSL_NAMES = frozenset(
    (
        "author", "chair", "collection-editor", "compiler", "composer", "container-author",
        "contributor", "curator", "director", "editor", "editorial-director", "executive-producer",
        "guest", "host", "illustrator", "interviewer", "narrator", "organizer", "original-author",
        "performer", "producer", "recipient", "reviewed-author", "script-writer", "series-creator",
        "translator",
    )
)  # fmt: skip


def _entry_lines(text: str) -> dict[str, list[int]]:
    """Lines where each ``id`` stands in a bibliography file, found in its text."""
    lines: dict[str, list[int]] = {}
    pattern = re.compile(r'"id"\s*:\s*"([^"]+)"|^\s*id:\s*(\S+)|@\w+\{([^,\s]+),')
    for number, line in enumerate(text.splitlines(), start=1):
        for match in pattern.finditer(line):
            key = next(g for g in match.groups() if g)
            lines.setdefault(key.strip("'\""), []).append(number)
    return lines
