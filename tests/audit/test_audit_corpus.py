"""hermetic audit on a corpus of real ML repositories (tests/audit/corpus), against the hazards
a careful reader labelled there: recall and precision per family of hazards, and never fewer
true findings than bandit, hadolint and checkov together (as the benchmark last recorded them)
in any kind of hazard both claim. The labels and the corpus are checked against each other
first. Figures beside the other scanners: benchmarks/bench_audit_corpus.py."""

from __future__ import annotations

import re

import pytest

from hermetic.audit.config import read_config
from hermetic.audit.engine import ALL_RULES
from hermetic.audit.repository import load_repository
from tests.audit.corpus_support import (
    CORPUS,
    FAMILIES,
    PRECISION_TARGET,
    RECALL_TARGET,
    SOURCES,
    TARGET_FAMILIES,
    Corpus,
    FamilyScore,
    Reported,
    corpus_files,
    hazard_key,
    hermetic_reported,
    hermetic_scores,
    load_corpus,
    materialise,
    overlap_scores,
    recorded_others,
)
from tests.helpers import REPO_ROOT

CHECK_ID = re.compile(r"(bandit:B\d{3}|hadolint:DL\d{4}|checkov:CKV_(K8S|DOCKER)_\d+)")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


@pytest.fixture(scope="module")
def reported(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> list[Reported]:
    return hermetic_reported(materialise(corpus, tmp_path_factory.mktemp("corpus")))


@pytest.fixture(scope="module")
def scores(corpus: Corpus, reported: list[Reported]) -> dict[str, FamilyScore]:
    return hermetic_scores(corpus, reported)


# --- The labels and the corpus agree ---------------------------------------------------------


def test_every_label_points_at_its_words(corpus: Corpus) -> None:
    """Each hazard's words are on its lines, so an edit of a corpus file cannot silently move
    the hazard away from its label; generated large files are labelled at line 1."""
    generated = {large.path for large in corpus.large_files}
    for hazard in corpus.hazards:
        assert hazard.line <= hazard.end, hazard.describe()
        if hazard.path in generated:
            assert hazard.line == 1, hazard.describe()
            continue
        lines = (CORPUS / hazard.path).read_text(encoding="utf-8").splitlines()
        assert hazard.end <= len(lines), hazard.describe()
        assert any(hazard.text in line for line in lines[hazard.line - 1 : hazard.end]), (
            f"{hazard.describe()}: {hazard.text!r} is not on its lines"
        )


def test_labels_are_consistent(corpus: Corpus) -> None:
    known_rules = {rule.id for rule in ALL_RULES} | set(corpus.families)
    keys = [hazard_key(h) + (h.text if h.rule is None else "") for h in corpus.hazards]
    assert len(keys) == len(set(keys)), "a hazard is labelled twice"
    for hazard in corpus.hazards:
        assert hazard.family in FAMILIES, hazard.describe()
        if hazard.rule is not None:
            assert hazard.rule in known_rules, hazard.describe()
            assert corpus.family_of(hazard.rule) == hazard.family, hazard.describe()
        assert all(CHECK_ID.fullmatch(check) for check in hazard.others), hazard.describe()
    for overlap in corpus.overlaps:
        assert overlap.file_level <= set(overlap.others), overlap.name
        assert any(h.rule == overlap.rule and h.scored for h in corpus.hazards), overlap.name


def test_every_target_family_has_several_real_variants(corpus: Corpus) -> None:
    for family in TARGET_FAMILIES:
        scored = [h for h in corpus.hazards if h.family == family and h.scored]
        assert len({h.repository for h in scored}) >= 3, family
        assert len(scored) >= 10, family


def test_sources_name_every_file(corpus: Corpus) -> None:
    """SOURCES.md names each corpus file (and each generated one) with its origin."""
    sources = SOURCES.read_text(encoding="utf-8")
    listed = [path for repository in corpus.repositories for path in corpus_files(repository)]
    listed += [large.path for large in corpus.large_files]
    missing = [path for path in listed if f"`{path.split('/', 1)[1]}`" not in sources]
    assert not missing, f"SOURCES.md does not name: {missing}"


def test_this_repository_never_audits_the_corpus() -> None:
    """Its hazards are planted for the corpus test; the repository's own audit excludes them."""
    repository = load_repository(REPO_ROOT, read_config(REPO_ROOT).exclude)
    assert not [path for path in repository.files if path.startswith("tests/audit/corpus/")]


# --- hermetic's scores -----------------------------------------------------------------------


@pytest.mark.parametrize("family", TARGET_FAMILIES)
def test_recall_and_precision(family: str, scores: dict[str, FamilyScore]) -> None:
    score = scores[family]
    missed = "\n".join(f"  missed {h.describe()}" for h in score.missed)
    false = "\n".join(f"  false {r.check} {r.path}:{r.line}" for r in score.false_positives)
    assert score.recall >= RECALL_TARGET, f"{family} recall {score.recall:.1%}\n{missed}"
    assert score.precision >= PRECISION_TARGET, f"{family} precision {score.precision:.1%}\n{false}"


def test_never_fewer_true_findings_than_the_other_scanners_together(
    corpus: Corpus, reported: list[Reported]
) -> None:
    """Per kind of hazard both claim, hermetic finds at least as many labelled hazards as
    bandit, hadolint and checkov together did when the benchmark last recorded them."""
    recorded = recorded_others()
    if not recorded:
        pytest.fail("no others-found.yaml: run `python benchmarks/bench_audit_corpus.py --record`")
    keys = {hazard_key(h) for h in corpus.hazards}
    for score in overlap_scores(corpus, reported, []):
        others = recorded.get(score.overlap.name, [])
        assert set(others) <= keys, f"{score.overlap.name}: re-record others-found.yaml"
        ours = {hazard_key(h) for h in score.hermetic}
        assert len(ours) >= len(others), (
            f"{score.overlap.name}: hermetic {len(ours)}, the others {len(others)}; "
            f"only theirs: {sorted(set(others) - ours)}"
        )


def test_the_corpus_is_small() -> None:
    size = sum(path.stat().st_size for path in CORPUS.rglob("*") if path.is_file())
    assert size < 400 * 1024
