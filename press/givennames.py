"""Given names added report-wide or cite by cite: when the two render every citation alike.

A style that tells authors apart by their given names either does so only where two cites
would otherwise read the same (``givenname-disambiguation-rule="by-cite"``, the default) or
for every name that shares its family with another cited name (the global rules: APA's
``primary-name-with-initials`` and 337 other official styles). pandoc's citeproc spends time
on a global rule that grows faster than the square of the sources: 21-33 s for the 2,300
distinct sources of the benchmark's x50 report, 1.9 s for the same citations by cite.

Read in citeproc's ``disambiguateCitations`` (Citeproc/Eval.hs), a global rule differs from
by-cite in three steps only:

1. It first marks every relevant name (the first of each cite's names, or all of them for
   ``all-names*``) whose family another relevant name shares; none, if no two share one.
2. Cites that still render alike are told apart by showing more names: by-cite compares the
   names in full, a global rule with given names reduced to initials or left out. The two
   see the same differences unless two items of such a group hold different names of one
   family.
3. By-cite then marks, in each such group, the names in one place whose family another
   item's name there shares: none, under the same condition.

So when no two relevant names share a family and no two items that could render alike hold
different names of one family, by-cite's output is the global rule's, and costs a fraction
of it (:func:`alike`; the copy is :func:`press.styles.by_cite`; tests/test_given_names.py
compares the two on random bibliographies).
Items that render alike show the same first name: they share the family, or the literal
name, of the first name of one of their name lists. Items the same but for their id (the
same source cited twice under two keys) hold their names in the same places.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

Entry = dict[str, Any]
Name = dict[str, Any]


def alike(entries: list[Entry], rule: str) -> bool:
    """True if every citation renders the same by cite as under the global ``rule``.

    ``entries`` are the sources as citeproc reads them (pandoc's CSL JSON written back:
    particles and suffixes split from the family as citeproc splits them), every one that
    could be cited or not."""
    lists = [[value for value in entry.values() if _is_names(value)] for entry in entries]
    relevant: dict[str, set[str]] = defaultdict(set)
    for names in (names for listed in lists for names in listed):
        for name in names if rule.startswith("all-names") else names[:1]:
            if isinstance(name.get("family"), str):
                relevant[name["family"]].add(_identity(name))
    if any(len(shared) > 1 for shared in relevant.values()):
        return False
    could_meet: dict[str, list[int]] = defaultdict(list)
    for index, listed in enumerate(lists):
        for lead in {_shown(names[0]) for names in listed}:
            could_meet[lead].append(index)
    sameness = [
        json.dumps({k: v for k, v in e.items() if k != "id"}, sort_keys=True) for e in entries
    ]
    for members in could_meet.values():
        holders: dict[str | None, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for index in members:
            for name in (name for names in lists[index] for name in names):
                holders[name.get("family")][_identity(name)].add(sameness[index])
        for by_name in holders.values():
            if len(by_name) > 1 and len(set().union(*by_name.values())) > 1:
                return False
    return True


def _is_names(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(n, dict) for n in value)


def _identity(name: Name) -> str:
    return json.dumps(name, sort_keys=True, ensure_ascii=False)


def _shown(name: Name) -> str:
    """What a name shows of itself in any form, as far as two names could show it alike: its
    family (or literal name), case, stops and spacing aside."""
    text = name.get("family") or name.get("literal") or _identity(name)
    return re.sub(r"[\s.]+", " ", str(text)).strip().casefold()
