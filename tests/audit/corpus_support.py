"""The audit corpus (tests/audit/corpus): repositories nobody here wrote, the hazards a careful
reader labelled in them (expected.yaml), and the scoring of any scanner's findings against
those labels. The test asserts hermetic's scores; benchmarks/bench_audit_corpus.py prints them
beside bandit's, hadolint's and checkov's."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hermetic.audit.engine import run_audit

CORPUS = Path(__file__).resolve().parent / "corpus"
LABELS = CORPUS / "expected.yaml"
SOURCES = CORPUS / "SOURCES.md"
# What the other scanners found in the last benchmark run (`bench_audit_corpus.py --record`).
OTHERS_FOUND = CORPUS / "others-found.yaml"
TARGET_FAMILIES = ("pinning", "serialization", "image", "kubernetes")
FAMILIES = (*TARGET_FAMILIES, "code-other")
RECALL_TARGET = 0.95
PRECISION_TARGET = 0.98
HERMETIC = "hermetic"
# Whoever runs it (a test, the benchmark), the commits need no user configuration.
GIT = (
    "git",
    *("-c", "user.name=corpus", "-c", "user.email=corpus@example.invalid"),
    *("-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"),
)


@dataclass(frozen=True)
class Hazard:
    """One labelled hazard: PATH is corpus-relative (`<repository>/<path in it>`); a finding
    anywhere on LINE..END is on it."""

    path: str
    line: int
    end: int
    family: str
    rule: str | None
    others: tuple[str, ...]
    in_scope: bool
    text: str
    note: str
    convention: str | None = None  # a labelling convention a scanner could decide otherwise

    @property
    def repository(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def scored(self) -> bool:
        """Counted in hermetic's recall: a rule of the audit covers it and the audit reads it."""
        return self.in_scope and self.rule is not None

    def describe(self) -> str:
        where = f"{self.path}:{self.line}" + (f"-{self.end}" if self.end != self.line else "")
        return f"{self.rule or '(no rule)'} {where} ({self.text or self.note})"


@dataclass(frozen=True)
class Overlap:
    """A kind of hazard that hermetic's RULE and the OTHERS' checks both claim; FILE_LEVEL
    checks report at the import, so they cover the whole file."""

    name: str
    rule: str
    others: tuple[str, ...]
    file_level: frozenset[str]


@dataclass(frozen=True)
class LargeFile:
    """A file too big to keep in the corpus: written (sparse, zero bytes) before committing."""

    path: str
    size: int
    assumed: bool


@dataclass(frozen=True)
class Corpus:
    hazards: tuple[Hazard, ...]
    families: Mapping[str, str]  # hermetic rule ID -> family
    overlaps: tuple[Overlap, ...]
    large_files: tuple[LargeFile, ...]
    traps: tuple[Mapping[str, Any], ...]

    @property
    def repositories(self) -> tuple[str, ...]:
        return tuple(sorted(path.name for path in CORPUS.iterdir() if path.is_dir()))

    def family_of(self, rule: str) -> str:
        return self.families.get(rule, "code-other")

    @property
    def file_level(self) -> frozenset[str]:
        return frozenset(check for overlap in self.overlaps for check in overlap.file_level)


def load_corpus() -> Corpus:
    document = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    hazards = tuple(
        Hazard(
            path=entry["path"],
            line=entry["line"],
            end=entry.get("end", entry["line"]),
            family=entry["family"],
            rule=entry["rule"],
            others=tuple(entry["others"]),
            in_scope=entry.get("in_scope", True),
            text=entry["text"],
            note=entry.get("note", ""),
            convention=entry.get("convention"),
        )
        for entry in document["hazards"]
    )
    overlaps = tuple(
        Overlap(
            name=entry["name"],
            rule=entry["rule"],
            others=tuple(entry["others"]),
            file_level=frozenset(entry.get("file_level", ())),
        )
        for entry in document["overlaps"]
    )
    large_files = tuple(
        LargeFile(entry["path"], entry["bytes"], entry.get("assumed", False))
        for entry in document["generated"]
    )
    return Corpus(hazards, document["families"], overlaps, large_files, tuple(document["traps"]))


def corpus_files(repository: str) -> list[str]:
    """The files of one corpus repository, corpus-relative, sorted."""
    folder = CORPUS / repository
    return sorted(
        path.relative_to(CORPUS).as_posix() for path in folder.rglob("*") if path.is_file()
    )


def materialise(corpus: Corpus, destination: Path) -> dict[str, Path]:
    """Copy each corpus repository under DESTINATION, write its large files, and commit it all
    to a git repository of its own (HM502 judges only what git tracks); return name -> root."""
    trees: dict[str, Path] = {}
    for repository in corpus.repositories:
        root = destination / repository
        shutil.copytree(CORPUS / repository, root)
        for large in corpus.large_files:
            if large.path.startswith(f"{repository}/"):
                target = root / large.path.split("/", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as handle:
                    handle.truncate(large.size)
        for arguments in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "c"]):
            subprocess.run(
                [*GIT, *arguments],
                cwd=root,
                check=True,
                capture_output=True,
                env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
            )
        trees[repository] = root
    return trees


# --- What a scanner reported, and how it scores ----------------------------------------------


@dataclass(frozen=True)
class Reported:
    """One finding of a scanner: CHECK is `tool:ID` (hermetic:HM201, bandit:B506), PATH is
    corpus-relative, LINE..END the lines it names (a resource's range for checkov)."""

    check: str
    path: str
    line: int
    end: int

    @property
    def rule(self) -> str:
        return self.check.partition(":")[2]


def hermetic_reported(trees: Mapping[str, Path]) -> list[Reported]:
    """hermetic's findings on every corpus repository, in process."""
    return [
        Reported(
            f"{HERMETIC}:{finding.rule_id}", f"{name}/{finding.path}", finding.line, finding.line
        )
        for name, root in trees.items()
        for finding in run_audit(root).findings
    ]


def covers(reported: Reported, hazard: Hazard, file_level: frozenset[str]) -> bool:
    """REPORTED is on HAZARD: same file, and overlapping lines (any line for a FILE_LEVEL check)."""
    if reported.path != hazard.path:
        return False
    return reported.check in file_level or (
        reported.line <= hazard.end and hazard.line <= reported.end
    )


def found_by_hermetic(hazard: Hazard, reported: Iterable[Reported]) -> bool:
    check = f"{HERMETIC}:{hazard.rule}"
    return any(r.check == check and covers(r, hazard, frozenset()) for r in reported)


def found_by_others(
    hazard: Hazard, reported: Iterable[Reported], claims: Iterable[str], file_level: frozenset[str]
) -> bool:
    """Some other scanner's check among CLAIMS (and among the hazard's `others`) is on it."""
    checks = set(claims) & set(hazard.others)
    return any(r.check in checks and covers(r, hazard, file_level) for r in reported)


@dataclass(frozen=True)
class FamilyScore:
    family: str
    true_positives: tuple[Hazard, ...]
    missed: tuple[Hazard, ...]
    false_positives: tuple[Reported, ...]

    @property
    def precision(self) -> float:
        found = len(self.true_positives) + len(self.false_positives)
        return len(self.true_positives) / found if found else 1.0

    @property
    def recall(self) -> float:
        labelled = len(self.true_positives) + len(self.missed)
        return len(self.true_positives) / labelled if labelled else 1.0


def hermetic_scores(
    corpus: Corpus, reported: Sequence[Reported], *, with_conventions: bool = True
) -> dict[str, FamilyScore]:
    """Per family: the scored hazards hermetic found and missed, and its findings on no hazard
    labelled for that rule (a finding on an out-of-scope hazard is not a false positive).
    Without conventions, the hazards labelled by a `convention` are neither counted nor false."""
    ours = [r for r in reported if r.check.startswith(f"{HERMETIC}:")]
    scores: dict[str, FamilyScore] = {}
    for family in FAMILIES:
        hazards = [
            h
            for h in corpus.hazards
            if h.family == family and h.scored and (with_conventions or h.convention is None)
        ]
        found = tuple(h for h in hazards if found_by_hermetic(h, ours))
        missed = tuple(h for h in hazards if h not in found)
        false = tuple(
            r
            for r in ours
            if corpus.family_of(r.rule) == family
            and not any(h.rule == r.rule and covers(r, h, frozenset()) for h in corpus.hazards)
        )
        scores[family] = FamilyScore(family, found, missed, false)
    return scores


@dataclass(frozen=True)
class OverlapScore:
    overlap: Overlap
    labelled: tuple[Hazard, ...]
    hermetic: tuple[Hazard, ...]
    others: tuple[Hazard, ...]

    @property
    def others_only(self) -> tuple[Hazard, ...]:
        return tuple(h for h in self.others if h not in self.hermetic)


def overlap_scores(
    corpus: Corpus, hermetic: Sequence[Reported], others: Sequence[Reported]
) -> list[OverlapScore]:
    """Per overlap category: the scored hazards of its rule, those hermetic found, and those
    bandit, hadolint and checkov together found with the checks that claim the same kind."""
    results = []
    for overlap in corpus.overlaps:
        labelled = tuple(h for h in corpus.hazards if h.rule == overlap.rule and h.scored)
        results.append(
            OverlapScore(
                overlap,
                labelled,
                tuple(h for h in labelled if found_by_hermetic(h, hermetic)),
                tuple(
                    h
                    for h in labelled
                    if found_by_others(h, others, overlap.others, overlap.file_level)
                ),
            )
        )
    return results


def hazard_key(hazard: Hazard) -> str:
    """A stable name for a hazard in others-found.yaml: `RULE PATH:LINE`."""
    return f"{hazard.rule} {hazard.path}:{hazard.line}"


def recorded_others() -> dict[str, list[str]]:
    """Overlap name -> keys of the hazards the other scanners found, as last recorded."""
    if not OTHERS_FOUND.is_file():
        return {}
    document = yaml.safe_load(OTHERS_FOUND.read_text(encoding="utf-8")) or {}
    return {name: list(keys) for name, keys in document.get("found", {}).items()}
