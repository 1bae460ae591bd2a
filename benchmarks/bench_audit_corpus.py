"""hermetic audit beside bandit, hadolint and checkov on a corpus of real ML repositories.

The corpus (tests/audit/corpus, sources in its SOURCES.md) holds twelve small repositories
nobody here wrote (seven from public ML repositories, five of shapes common to many), with the
hazards a careful reader labelled in them (expected.yaml). Each repository is
copied to a temporary git work tree (large files written there) and scanned by:

- `hermetic audit --format json`, once per repository;
- bandit (tests/bandit/.venv), on every Python file;
- hadolint (the tool's environment), on every file hermetic reports an image finding in outside
  YAML and JSON, and every file that is a Dockerfile by its name;
- checkov (tests/checkov/.venv), `--framework kubernetes dockerfile`, offline.

Prints, per family of hazards, hermetic's true positives, false positives, misses, precision and
recall against the targets; per kind of hazard that hermetic and another scanner both claim, the
labelled hazards hermetic found and those the others found together; and the hazards outside
hermetic's rules. Figures only: it asserts nothing. `--record` writes what the others found to
tests/audit/corpus/others-found.yaml, which tests/audit/test_audit_corpus.py compares with.

    bash scripts/install-system-tools.sh   # bandit's and checkov's virtualenvs
    uv run --locked python benchmarks/bench_audit_corpus.py [--record]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # the corpus and its scoring live with the test that uses them

from tests.audit.corpus_support import (  # noqa: E402
    CORPUS,
    OTHERS_FOUND,
    PRECISION_TARGET,
    RECALL_TARGET,
    TARGET_FAMILIES,
    Corpus,
    Reported,
    found_by_hermetic,
    found_by_others,
    hazard_key,
    hermetic_scores,
    load_corpus,
    materialise,
    overlap_scores,
)

BANDIT = REPO_ROOT / "tests/bandit/.venv/bin/bandit"
CHECKOV = REPO_ROOT / "tests/checkov/.venv/bin/checkov"
TOOL_BIN = Path(sys.executable).parent
NOT_DOCKERFILES = (".yaml", ".yml", ".json", ".md", ".sh", ".dockerignore")
T = TypeVar("T")


def _emit(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _timed(label: str, times: dict[str, float], action: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = action()
    times[label] = time.perf_counter() - started
    return result


def _run(
    command: Sequence[str | Path], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )


def _corpus_path(parent: Path, file: str | Path) -> str:
    """A scanner's file name (absolute, or relative to PARENT with or without a leading slash,
    as checkov writes them) as a corpus-relative path."""
    root = parent.resolve()
    path = Path(file)
    if not (path.is_absolute() and path.resolve().is_relative_to(root)):
        path = root / str(file).lstrip("/")
    return path.resolve().relative_to(root).as_posix()


# --- The scanners ----------------------------------------------------------------------------


def run_hermetic(trees: Mapping[str, Path]) -> list[Reported]:
    found = []
    for name, root in trees.items():
        completed = _run([TOOL_BIN / "hermetic", "audit", "--format", "json", root])
        if completed.returncode not in (0, 1):
            raise SystemExit(f"hermetic audit {root} failed:\n{completed.stderr}")
        for finding in json.loads(completed.stdout)["findings"]:
            line = int(finding["line"])
            found.append(
                Reported(f"hermetic:{finding['rule']}", f"{name}/{finding['path']}", line, line)
            )
    return found


def run_bandit(parent: Path) -> list[Reported]:
    completed = _run([BANDIT, "--recursive", "--format", "json", "--quiet", parent])
    document: dict[str, Any] = json.loads(completed.stdout)
    found = []
    for result in document["results"]:
        lines = result.get("line_range") or [result["line_number"]]
        found.append(
            Reported(
                f"bandit:{result['test_id']}",
                _corpus_path(parent, result["filename"]),
                min(lines),
                max(lines),
            )
        )
    return found


def is_dockerfile_by_name(name: str) -> bool:
    lowered = name.lower()
    return not lowered.endswith(NOT_DOCKERFILES) and (
        lowered in ("dockerfile", "containerfile")
        or lowered.startswith(("dockerfile.", "dockerfile-", "containerfile."))
        or lowered.endswith(".dockerfile")
    )


def hadolint_targets(parent: Path, hermetic: Iterable[Reported]) -> list[str]:
    """Files hermetic read as Dockerfiles (an image finding outside YAML and JSON) and files
    that are Dockerfiles by their name, corpus-relative."""
    by_hermetic = {
        r.path
        for r in hermetic
        if r.rule.startswith("HM2") and not r.path.endswith(NOT_DOCKERFILES)
    }
    by_name = {
        _corpus_path(parent, path)
        for path in parent.rglob("*")
        if path.is_file() and ".git" not in path.parts and is_dockerfile_by_name(path.name)
    }
    return sorted(by_hermetic | by_name)


def run_hadolint(parent: Path, targets: Sequence[str]) -> list[Reported]:
    if not targets:
        return []
    completed = _run([TOOL_BIN / "hadolint", "--format", "json", "--no-fail", *targets], parent)
    return [
        Reported(
            f"hadolint:{item['code']}",
            _corpus_path(parent, item["file"]),
            item["line"],
            item["line"],
        )
        for item in json.loads(completed.stdout or "[]")
    ]


def run_checkov(parent: Path) -> list[Reported]:
    completed = _run(
        [
            CHECKOV,
            "--framework",
            "kubernetes",
            "dockerfile",
            "--directory",
            parent,
            "--output",
            "json",
            "--compact",
            "--quiet",
            "--skip-download",  # no network: no guideline links
        ]
    )
    reports = json.loads(completed.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    found = []
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            start, end = check["file_line_range"]
            found.append(
                Reported(
                    f"checkov:{check['check_id']}",
                    _corpus_path(parent, check["file_path"]),
                    start,
                    end,
                )
            )
    return found


# --- Figures ---------------------------------------------------------------------------------


def _percent(value: float) -> str:
    return f"{value:.1%}"


def print_families(corpus: Corpus, hermetic: Sequence[Reported]) -> None:
    targets = f"recall >= {RECALL_TARGET:.0%}, precision >= {PRECISION_TARGET:.0%}"
    _emit(f"hermetic per family (targets: {targets})")
    columns = f"{'true':>6}{'false':>7}{'missed':>8}{'precision':>11}{'recall':>9}"
    _emit(f"  {'family':<14}{columns}  target met")
    for family, score in hermetic_scores(corpus, hermetic).items():
        met = score.recall >= RECALL_TARGET and score.precision >= PRECISION_TARGET
        _emit(
            f"  {family:<14}{len(score.true_positives):>6}{len(score.false_positives):>7}"
            f"{len(score.missed):>8}{_percent(score.precision):>11}{_percent(score.recall):>9}"
            f"  {('yes' if met else 'NO') if family in TARGET_FAMILIES else '(not a target)'}"
        )
    lenient = hermetic_scores(corpus, hermetic, with_conventions=False)
    conventions = sorted({h.convention for h in corpus.hazards if h.convention})
    _emit(f"  without the labels that follow a convention ({', '.join(conventions)}):")
    for family in TARGET_FAMILIES:
        score = lenient[family]
        _emit(
            f"  {family:<14}{len(score.true_positives):>6}{len(score.false_positives):>7}"
            f"{len(score.missed):>8}{_percent(score.precision):>11}{_percent(score.recall):>9}"
        )
    for family, score in hermetic_scores(corpus, hermetic).items():
        for hazard in score.missed:
            _emit(f"    missed [{family}] {hazard.describe()}")
        for finding in score.false_positives:
            _emit(f"    false  [{family}] {finding.check} {finding.path}:{finding.line}")


def print_overlaps(
    corpus: Corpus, hermetic: Sequence[Reported], others: Sequence[Reported]
) -> None:
    _emit()
    _emit("kinds of hazard both claim: labelled hazards found")
    _emit("(target: hermetic >= bandit, hadolint and checkov together)")
    columns = f"{'rule':>6}{'labelled':>10}{'hermetic':>10}{'others':>8}{'only others':>13}"
    _emit(f"  {'kind':<38}{columns}  met")
    for score in overlap_scores(corpus, hermetic, others):
        met = len(score.hermetic) >= len(score.others)
        _emit(
            f"  {score.overlap.name:<38}{score.overlap.rule:>6}{len(score.labelled):>10}"
            f"{len(score.hermetic):>10}{len(score.others):>8}{len(score.others_only):>13}"
            f"  {'yes' if met else 'NO'}"
        )
        for hazard in score.others_only:
            _emit(f"    only the others: {hazard.describe()}")


def print_out_of_scope(
    corpus: Corpus, hermetic: Sequence[Reported], others: Sequence[Reported]
) -> None:
    outside = [h for h in corpus.hazards if not h.scored]
    every_claim = [check for overlap in corpus.overlaps for check in overlap.others]
    _emit()
    _emit(f"hazards outside hermetic's rules or reading ({len(outside)}), and who found them")
    for hazard in outside:
        by_us = hazard.rule is not None and found_by_hermetic(hazard, hermetic)
        by_them = found_by_others(hazard, others, every_claim, corpus.file_level)
        who = f"{'hermetic' if by_us else '-':<9}{'others' if by_them else '-':<7}"
        _emit(f"  {who} {hazard.describe()}")


def record(corpus: Corpus, hermetic: Sequence[Reported], others: Sequence[Reported]) -> None:
    found = {
        score.overlap.name: sorted(hazard_key(h) for h in score.others)
        for score in overlap_scores(corpus, hermetic, others)
    }
    header = (
        "# Written by `python benchmarks/bench_audit_corpus.py --record`: the labelled hazards\n"
        "# (RULE PATH:LINE in expected.yaml) that bandit, hadolint and checkov found together,\n"
        "# per kind of hazard they share with hermetic. tests/audit/test_audit_corpus.py checks\n"
        "# that hermetic finds at least as many of each kind.\n"
    )
    versions = {
        "bandit": _run([BANDIT, "--version"]).stdout.splitlines()[0],
        "hadolint": _run([TOOL_BIN / "hadolint", "--version"]).stdout.strip(),
        "checkov": _run([CHECKOV, "--version"]).stdout.strip(),
    }
    body = yaml.safe_dump({"versions": versions, "found": found}, sort_keys=False, width=100)
    OTHERS_FOUND.write_text(header + body, encoding="utf-8")
    _emit(f"\nrecorded {OTHERS_FOUND.relative_to(REPO_ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--record", action="store_true", help="Write others-found.yaml.")
    arguments = parser.parse_args()
    for tool in (BANDIT, CHECKOV):
        if not tool.is_file():
            raise SystemExit(f"{tool} is missing: run `bash scripts/install-system-tools.sh`")
    corpus = load_corpus()
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-audit-corpus-") as temporary:
        parent = Path(temporary)
        trees = _timed(
            "materialise (copy, write large files, git commit)",
            times,
            lambda: materialise(corpus, parent),
        )
        hermetic = _timed(
            "hermetic audit (once per repository)", times, lambda: run_hermetic(trees)
        )
        targets = hadolint_targets(parent, hermetic)
        bandit = _timed("bandit", times, lambda: run_bandit(parent))
        hadolint = _timed(
            f"hadolint ({len(targets)} files)", times, lambda: run_hadolint(parent, targets)
        )
        checkov = _timed("checkov", times, lambda: run_checkov(parent))
    others = [*bandit, *hadolint, *checkov]
    files = sum(1 for path in CORPUS.rglob("*") if path.is_file())
    scored = sum(h.scored for h in corpus.hazards)
    _emit(
        f"corpus: {len(trees)} repositories, {files} files "
        f"(+{len(corpus.large_files)} large files written), "
        f"{len(corpus.hazards)} labelled hazards ({scored} scored)"
    )
    counts = {"hermetic": hermetic, "bandit": bandit, "hadolint": hadolint, "checkov": checkov}
    _emit("findings: " + ", ".join(f"{tool} {len(found)}" for tool, found in counts.items()))
    _emit()
    print_families(corpus, hermetic)
    print_overlaps(corpus, hermetic, others)
    print_out_of_scope(corpus, hermetic, others)
    _emit()
    for label, seconds in times.items():
        _emit(f"time {label}: {seconds:.2f} s")
    if arguments.record:
        record(corpus, hermetic, others)


if __name__ == "__main__":
    main()
