"""The text `hermetic pin` prints: one line per change or problem, then a summary."""

from __future__ import annotations

from hermetic.pin.core import CheckReport, PinReport


def render_pin(report: PinReport) -> str:
    lines = [f"{c.where}: {c.old} -> {c.new} ({c.kind})" for c in report.changes]
    lines.extend(f"note: {note}" for note in report.notes)
    left = (
        f"{report.current} already current, {report.placeholders} placeholder(s) left alone, "
        f"{report.digest_only} by digest alone"
    )
    if report.changes:
        lines.append(
            f"Pinned {len(report.changes)} reference(s) in {len(report.files)} file(s); {left}"
        )
    else:
        lines.append(f"Nothing to pin: {left}")
    return "\n".join(lines) + "\n"


def render_check(report: CheckReport) -> str:
    lines = [
        f"{i.where}: {i.reference}: {i.message}" for i in (*report.problems, *report.placeholders)
    ]
    against = ", ".join(report.catalogues) or "no catalogue (none found)"
    mode = "asking the registries" if report.online else "offline"
    verdict = f"{len(report.problems)} problem(s)" if report.problems else "all pinned"
    lines.append(
        f"{verdict}: {report.references} reference(s) checked against {against} ({mode}); "
        f"{len(report.placeholders)} placeholder(s)"
    )
    return "\n".join(lines) + "\n"
