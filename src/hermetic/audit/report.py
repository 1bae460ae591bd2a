"""An audit report as text for people, JSON for scripts, SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import json
from collections import Counter
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from hermetic import __version__
from hermetic.audit.engine import AuditReport
from hermetic.audit.model import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
JSON_FORMAT_VERSION = 1


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


def render(report: AuditReport, report_format: ReportFormat) -> str:
    if report_format is ReportFormat.JSON:
        return json.dumps(as_json(report), indent=2) + "\n"
    if report_format is ReportFormat.SARIF:
        return json.dumps(as_sarif(report), indent=2) + "\n"
    return as_text(report)


def summary(report: AuditReport) -> str:
    counts = Counter(finding.rule.severity.value for finding in report.findings)
    by_severity = ", ".join(f"{count} {severity}" for severity, count in sorted(counts.items()))
    found = f"{len(report.findings)} findings ({by_severity})" if counts else "no findings"
    return (
        f"{found} in {report.files} files, {len(report.rules)} rules"
        f"{f'; {report.suppressed} suppressed' if report.suppressed else ''}"
    )


def as_text(report: AuditReport) -> str:
    lines: list[str] = []
    for finding in report.findings:
        rule = finding.rule
        lines.append(
            f"{finding.path}:{finding.line}: {rule.id} [{rule.severity}] {rule.title}: "
            f"{finding.message}"
        )
        lines.append(f"    fix: {rule.fix}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _finding_json(finding: Finding) -> dict[str, Any]:
    rule = finding.rule
    return {
        "rule": rule.id,
        "name": rule.name,
        "severity": rule.severity.value,
        "title": rule.title,
        "path": finding.path,
        "line": finding.line,
        "message": finding.message,
        "fix": rule.fix,
    }


def as_json(report: AuditReport) -> dict[str, Any]:
    return {
        "version": JSON_FORMAT_VERSION,
        "tool": {"name": "hermetic", "version": __version__},
        "root": str(report.root.resolve()),
        "rules": [rule.id for rule in report.rules],
        "findings": [_finding_json(finding) for finding in report.findings],
        "summary": {
            "findings": len(report.findings),
            "suppressed": report.suppressed,
            "files": report.files,
            "by_severity": dict(Counter(f.rule.severity.value for f in report.findings)),
        },
    }


def as_sarif(report: AuditReport) -> dict[str, Any]:
    """One run; paths relative to %SRCROOT% (the audited root), as GitHub code scanning wants."""
    index = {rule.id: position for position, rule in enumerate(report.rules)}
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": f"{rule.title}. Fix: {rule.fix}"},
            "help": {"text": rule.fix},
            "defaultConfiguration": {"level": rule.severity.value},
        }
        for rule in report.rules
    ]
    results = [
        {
            "ruleId": finding.rule_id,
            "ruleIndex": index[finding.rule_id],
            "level": finding.rule.severity.value,
            "message": {"text": f"{finding.message}. Fix: {finding.rule.fix}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": quote(finding.path),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {"startLine": finding.line},
                    }
                }
            ],
        }
        for finding in report.findings
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "hermetic",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": report.root.resolve().as_uri() + "/"}},
                "results": results,
            }
        ],
    }
