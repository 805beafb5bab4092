"""Interaction checking against the `DrugInteraction` table.

Each medication to check becomes a `Subject`: its generic ingredients and pharmacological classes. A catalog
entry brings its own; free text is first matched, case-insensitively, to a catalog generic name, synonym or brand
name ("Advil" is ibuprofen), and text that matches nothing is kept as an ingredient of that name (so a row naming
"sacubitril" still matches). A row matches a pair when one side matches each subject: a class side by class, an
ingredient side by ingredient. Of several rows matching one pair, the most severe is reported, and on a tie the
most specific (ingredient sides over class sides), so "warfarin + NSAID" is preferred to "anticoagulant + NSAID".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .choices import SEVERITY_RANK, InteractionSide
from .exceptions import UnknownMedication
from .models import DrugInteraction, Medication, Regimen

CATALOG_FIELDS = (
    "id",
    "generic_name",
    "synonyms",
    "brand_names",
    "ingredients",
    "pharmacological_class",
    "additional_classes",
)


@dataclass(frozen=True)
class Subject:
    """One medication as the interaction check sees it."""

    label: str
    key: str
    ingredients: frozenset[str]
    classes: frozenset[str]
    medication_id: uuid.UUID | None = None
    regimen_id: uuid.UUID | None = field(default=None, compare=False)

    def matches(self, kind: str, value: str) -> bool:
        pool = self.classes if kind == InteractionSide.CLASS else self.ingredients
        return value.casefold() in pool


@dataclass(frozen=True)
class Finding:
    a: Subject
    b: Subject
    rule: DrugInteraction
    a_side: tuple[str, str]
    b_side: tuple[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "medications": [self.a.label, self.b.label],
            "severity": self.rule.severity,
            "description": self.rule.description,
            "source": self.rule.source,
            "source_url": self.rule.source_url,
            "matched_on": [f"{kind}: {value}" for kind, value in (self.a_side, self.b_side)],
        }


def subject_from_medication(medication: Medication, *, label: str | None = None, regimen_id=None) -> Subject:
    return Subject(
        label=label or medication.generic_name,
        key=f"medication:{medication.id}",
        ingredients=frozenset(i.casefold() for i in medication.ingredients),
        classes=frozenset(c.casefold() for c in medication.classes),
        medication_id=medication.id,
        regimen_id=regimen_id,
    )


def subject_from_text(text: str, *, regimen_id=None) -> Subject:
    name = text.strip()
    return Subject(
        label=name,
        key=f"text:{name.casefold()}",
        ingredients=frozenset([name.casefold()]),
        classes=frozenset(),
        regimen_id=regimen_id,
    )


def catalog_name_index() -> dict[str, Medication]:
    """Every generic name, synonym and brand name of the catalog, case-folded, to its entry (a few hundred rows)."""
    index: dict[str, Medication] = {}
    for medication in Medication.objects.only(*CATALOG_FIELDS):
        for name in medication.names:
            index.setdefault(name.strip().casefold(), medication)
    return index


class SubjectResolver:
    """Turns catalog ids, catalog entries, free-text names and regimens into subjects; loads the name index once."""

    def __init__(self) -> None:
        self._index: dict[str, Medication] | None = None

    def by_name(self, text: str, *, regimen_id=None) -> tuple[Subject, bool]:
        """(subject, found in the catalog)."""
        if self._index is None:
            self._index = catalog_name_index()
        medication = self._index.get(text.strip().casefold())
        if medication is None:
            return subject_from_text(text, regimen_id=regimen_id), False
        return subject_from_medication(medication, label=text.strip(), regimen_id=regimen_id), True

    def for_regimen(self, regimen: Regimen) -> Subject:
        if regimen.medication is not None:
            return subject_from_medication(regimen.medication, label=regimen.name, regimen_id=regimen.id)
        return self.by_name(regimen.name, regimen_id=regimen.id)[0]


def _rule_fits(rule: DrugInteraction, x: Subject, y: Subject) -> bool:
    return x.matches(rule.a_kind, rule.a_value) and y.matches(rule.b_kind, rule.b_value)


def _specificity(rule: DrugInteraction) -> int:
    return (rule.a_kind == InteractionSide.INGREDIENT) + (rule.b_kind == InteractionSide.INGREDIENT)


def best_rule(x: Subject, y: Subject, rules: Iterable[DrugInteraction]) -> Finding | None:
    """The most severe (then most specific) rule matching the pair, with the side that matched each subject."""
    best: Finding | None = None
    best_rank = (-1, -1)
    for rule in rules:
        if _rule_fits(rule, x, y):
            sides = ((rule.a_kind, rule.a_value), (rule.b_kind, rule.b_value))
        elif _rule_fits(rule, y, x):
            sides = ((rule.b_kind, rule.b_value), (rule.a_kind, rule.a_value))
        else:
            continue
        rank = (SEVERITY_RANK[rule.severity], _specificity(rule))
        if rank > best_rank:
            best_rank = rank
            best = Finding(a=x, b=y, rule=rule, a_side=sides[0], b_side=sides[1])
    return best


def _ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-SEVERITY_RANK[f.rule.severity], f.a.label.casefold(), f.b.label.casefold()))


def interactions_among(subjects: Sequence[Subject], rules: Sequence[DrugInteraction] | None = None) -> list[Finding]:
    """One finding per interacting pair of distinct subjects, most severe first."""
    rules = list(DrugInteraction.objects.all()) if rules is None else rules
    findings = []
    for i, x in enumerate(subjects):
        for y in subjects[i + 1 :]:
            if x.key == y.key:
                continue
            finding = best_rule(x, y, rules)
            if finding is not None:
                findings.append(finding)
    return _ordered(findings)


def interactions_with(subject: Subject, others: Sequence[Subject]) -> list[Finding]:
    """Findings between SUBJECT and each of OTHERS (a new or changed regimen against the person's other ones)."""
    if not others:
        return []
    rules = list(DrugInteraction.objects.all())
    findings = [f for other in others if other.key != subject.key and (f := best_rule(subject, other, rules))]
    return _ordered(findings)


def check_items(items: Sequence[str]) -> dict[str, Any]:
    """`POST interactions/check/`: ITEMS are catalog ids or names. Raises UnknownMedication for an unknown id.

    Names not in the catalog are checked as ingredients of that name and listed under `unmatched`.
    """
    ids: dict[int, uuid.UUID] = {}
    for position, item in enumerate(items):
        try:
            ids[position] = uuid.UUID(item)
        except ValueError:
            continue
    by_id = {m.id: m for m in Medication.objects.filter(id__in=ids.values()).only(*CATALOG_FIELDS)}
    unknown = {str(p): ["No catalog medication has this id."] for p, i in ids.items() if i not in by_id}
    if unknown:
        raise UnknownMedication(fields={"medications": unknown})
    resolver = SubjectResolver()
    subjects: list[Subject] = []
    unmatched: list[str] = []
    for position, item in enumerate(items):
        if position in ids:
            subjects.append(subject_from_medication(by_id[ids[position]]))
            continue
        subject, found = resolver.by_name(item)
        subjects.append(subject)
        if not found:
            unmatched.append(subject.label)
    return {"interactions": [f.as_dict() for f in interactions_among(subjects)], "unmatched": unmatched}
