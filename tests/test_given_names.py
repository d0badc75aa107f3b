"""Given names by cite in place of a global rule (press.givennames): the output must be
pandoc's own under the style's rule whenever :func:`~press.givennames.alike` says so.

Random small bibliographies, with families shared between first authors, co-authors, items of
one year and copies of one source, go through pandoc's citeproc twice, under each global rule
and by cite, and wherever the check passes the two outputs are the same."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from lxml import etree

from press import cache, citations, givennames, pandoc
from press.build import Options, citation_locale, prepare
from press.styles import CSL_NS, GLOBAL_RULES, by_cite, resolve_style
from tests.conftest import embedded_copy

GIVEN = ["J.", "K.", "Jong Un", "Jae-in", "S."]


def test_the_by_cite_copy_changes_the_rule_alone(tmp_path: Path) -> None:
    apa = resolve_style("apa", tmp_path).path
    made = by_cite(apa, tmp_path)
    assert made is not None and made.rule == "primary-name-with-initials"
    original = etree.parse(str(apa))
    original.getroot().find(f"{CSL_NS}citation").set("givenname-disambiguation-rule", "by-cite")
    assert etree.tostring(etree.parse(str(made.path)), method="c14n") == etree.tostring(
        original, method="c14n"
    )
    assert by_cite(made.path, tmp_path) is None  # by cite already
    assert by_cite(resolve_style("ieee", tmp_path).path, tmp_path) is None


def test_the_embedded_sources_render_alike_under_apa_not_under_all_names() -> None:
    # Two Kims and a Park are co-authors (2023) or second authors (2024), never first authors
    # of two sources: APA's rule looks at first authors only, all-names at every name.
    text = Path("content/references.json").read_text("utf-8")
    entries = citations.as_citeproc_reads(json.loads(text), "test")
    assert givennames.alike(entries, "primary-name-with-initials")
    assert not givennames.alike(entries, "all-names")


def _source(key: str, year: int, *names: tuple[str, str]) -> dict:
    authors = [{"family": family, "given": given} for family, given in names]
    return {"id": key, "type": "book", "title": key, "issued": {"date-parts": [[year]]},
            "author": authors}  # fmt: skip


@pytest.mark.parametrize(
    ("entries", "global_", "cite_by_cite"),
    [
        # Two first authors of one family: APA gives them initials everywhere.
        (
            [_source("a", 2020, ("Kim", "J.")), _source("b", 2021, ("Kim", "K."))],
            "(J. Kim, 2020). Text (K. Kim, 2021).",
            "(Kim, 2020). Text (Kim, 2021).",
        ),
        # Two sources that read alike, with co-authors of one family behind "et al.": by
        # cite shows their given names, APA's rule tells the sources apart by year.
        (
            [
                _source("a", 2020, ("Smith", "J."), ("Kim", "J."), ("Lee", "S.")),
                _source("b", 2020, ("Smith", "J."), ("Kim", "K."), ("Lee", "S.")),
            ],
            "(Smith et al., 2020a). Text (Smith et al., 2020b).",
            "(Smith, J. Kim, et al., 2020). Text (Smith, K. Kim, et al., 2020).",
        ),
    ],
)
def test_where_by_cite_differs_the_check_says_so(
    entries: list[dict], global_: str, cite_by_cite: str, tmp_path: Path
) -> None:
    apa = resolve_style("apa", tmp_path).path
    quick = by_cite(apa, tmp_path)
    assert quick is not None
    bibliography = tmp_path / "bib.json"
    bibliography.write_text(json.dumps(entries), "utf-8")
    text = "Text [@a]. Text [@b].\n"
    shown = [pandoc.stringify(_citeproc(text, csl, bibliography)[0]) for csl in (apa, quick.path)]
    assert shown == [f"Text {global_}", f"Text {cite_by_cite}"]
    assert not givennames.alike(citations.as_citeproc_reads(entries, "test"), quick.rule)


@pytest.mark.parametrize("rule", GLOBAL_RULES)
def test_by_cite_renders_as_the_global_rule_wherever_the_check_says_so(
    rule: str, tmp_path: Path
) -> None:
    rng = random.Random(rule)
    apa = resolve_style("apa", tmp_path).path
    tree = etree.parse(str(apa))
    tree.getroot().find(f"{CSL_NS}citation").set("givenname-disambiguation-rule", rule)
    style = tmp_path / "global.csl"
    tree.write(str(style), xml_declaration=True, encoding="utf-8")
    quick = by_cite(style, tmp_path)
    assert quick is not None and quick.rule == rule
    outcomes = {True: 0, False: 0}
    differed = 0
    for case in range(12):
        entries, text = _random_report(rng, rng.randint(2, 14), one_given=case % 3 == 0)
        bibliography = tmp_path / f"bib-{case}.json"
        bibliography.write_text(json.dumps(entries), "utf-8")
        same = givennames.alike(citations.as_citeproc_reads(entries, "test"), rule)
        real, cited = (_citeproc(text, csl, bibliography) for csl in (style, quick.path))
        outcomes[same] += 1
        if same:
            assert cited == real, (case, entries)
        differed += cited != real
    assert outcomes[True] >= 3 and outcomes[False] >= 3, outcomes
    assert rule.startswith("all-names") or differed  # the check is there for a reason


def _random_report(rng: random.Random, families: int, one_given: bool) -> tuple[list[dict], str]:
    """Sources from ``families`` families (each with one given name if ``one_given``) and a
    text citing them."""
    pool = ["Kim", "Lee", "Park", "Smith", "van Gogh", "Gogh", "Choi", "Moon", "Yoon", "Jang"]
    pool += [f"Family{n}" for n in range(families)]
    pool = pool[:families]
    entries: list[dict] = []
    for index in range(rng.randint(3, 8)):
        if entries and rng.random() < 0.2:  # the same source under a second key
            entries.append({**rng.choice(entries), "id": f"s{index}"})
            continue
        if entries and rng.random() < 0.2:  # another by the same first author, a co-author
            twin = rng.choice(entries)  # of the same family with another given name
            authors = [
                *twin["author"],
                _name(twin["author"][0].get("family", "Kim"), rng, one_given),
            ]
            entries.append({**twin, "id": f"s{index}", "author": authors, "title": "Other"})
            continue
        authors = [
            {"literal": rng.choice(["NTI", "IAEA"])}
            if rng.random() < 0.1
            else _name(rng.choice(pool), rng, one_given)
            for _ in range(rng.randint(1, 4))
        ]
        entries.append(
            {
                "id": f"s{index}",
                "type": rng.choice(["book", "article-journal"]),
                "author": authors,
                "title": f"Title {rng.randint(1, 3)}",
                "issued": {"date-parts": [[rng.choice([2020, 2021])]]},
            }
        )
    keys = [entry["id"] for entry in entries]
    cites = [
        "[" + "; ".join(f"@{key}" for key in rng.sample(keys, rng.randint(1, 3))) + "]"
        for _ in range(rng.randint(3, 10))
    ]
    return entries, "Text " + ". Text ".join(cites) + ".\n"


def _name(family: str, rng: random.Random, one_given: bool) -> dict:
    given = GIVEN[len(family) % len(GIVEN)] if one_given else rng.choice(GIVEN)
    return {"family": family, "given": given}


def _citeproc(text: str, csl: Path, bibliography: Path) -> list:
    """The citations and bibliography (the metadata, which names the style's file, left out)."""
    args = ["--from", "markdown", "--citeproc", "--csl", str(csl)]
    args += ["--bibliography", str(bibliography), "--to", "json"]
    return json.loads(pandoc.run(args, text, place="test"))["blocks"]


def test_a_long_report_in_apa_is_processed_by_cite_and_comes_out_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = embedded_copy(tmp_path / "report")
    config, styles, parsed = prepare(Options(folder=folder, cache=False))
    locale = citation_locale(config, styles[0])
    styles_run: list[str] = []
    run = pandoc.run

    def spied(args: list[str], stdin: str | bytes, *, place: str) -> bytes:
        if "--citeproc" in args:
            styles_run.append(Path(args[args.index("--csl") + 1]).name)
        return run(args, stdin, place=place)

    monkeypatch.setattr(pandoc, "run", spied)
    with cache.using(cache.Cache(tmp_path, enabled=False)):
        plain = citations.resolve(parsed, styles[0], locale)
        monkeypatch.setattr(citations, "LONG_CITEPROC", 0)
        quick = citations.resolve(parsed, styles[0], locale)
    assert styles_run == ["apa.csl", "by-cite-apa.csl"]
    assert quick.ast == plain.ast
