"""Inline suppression: `hermetic: ignore[HM101,HM202] why` in a comment on the finding's line
or the line above. Without a reason it suppresses nothing and is itself reported (HM001)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hermetic.audit.model import Finding, Rule, Severity

MARKER = re.compile(r"hermetic:\s*ignore\[(?P<ids>[^\]]*)\](?P<reason>.*)")
# What may close a comment after the reason: HTML/XML, C-style, Jinja.
COMMENT_CLOSERS = re.compile(r"(-->|\*/|#\})\s*$")

SUPPRESSION_WITHOUT_REASON = Rule(
    "HM001",
    "suppression-without-reason",
    "Suppression without a reason",
    Severity.WARNING,
    "Say why after the brackets: `# hermetic: ignore[HM104] pinned by the vendor's installer`.",
)


@dataclass(frozen=True)
class Suppression:
    line: int
    rule_ids: frozenset[str]
    reason: str


def suppressions_in(lines: Iterable[str]) -> Iterator[Suppression]:
    for number, text in enumerate(lines, start=1):
        match = MARKER.search(text)
        if match:
            ids = frozenset(part.strip() for part in match["ids"].split(",") if part.strip())
            reason = COMMENT_CLOSERS.sub("", match["reason"]).strip(" \t:-—")
            yield Suppression(number, ids, reason)


def split_suppressed(
    findings: Iterable[Finding], lines_of: dict[str, list[str]]
) -> tuple[list[Finding], list[Finding]]:
    """(kept, suppressed): a finding is suppressed by a reasoned marker naming its rule on its
    line or the line above; markers without a reason become HM001 findings among the kept."""
    markers: dict[str, dict[int, Suppression]] = {
        path: {marker.line: marker for marker in suppressions_in(lines)}
        for path, lines in lines_of.items()
    }
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        in_file = markers.get(finding.path, {})
        reasoned = [
            marker
            for marker in (in_file.get(finding.line), in_file.get(finding.line - 1))
            if marker is not None and finding.rule_id in marker.rule_ids and marker.reason
        ]
        (suppressed if reasoned else kept).append(finding)
    for path, in_file in markers.items():
        kept.extend(
            SUPPRESSION_WITHOUT_REASON.at(
                path, marker.line, f"ignore[{', '.join(sorted(marker.rule_ids))}] gives no reason"
            )
            for marker in in_file.values()
            if not marker.reason
        )
    return kept, suppressed
