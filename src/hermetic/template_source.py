"""Where the template comes from: --template, else $HERMETIC_TEMPLATE, else this tool's checkout."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hermetic.errors import TemplateError

TEMPLATE_ENV_VAR = "HERMETIC_TEMPLATE"


def checkout_root(start: Path | None = None) -> Path | None:
    """The git checkout of hermetic-ml this code runs from, if it runs from one."""
    here = (start or Path(__file__)).resolve()
    for directory in (here, *here.parents):
        if (directory / "copier.yml").is_file() and (directory / ".git").exists():
            return directory
    return None


def resolve_template_source(
    explicit: str | None, environ: Mapping[str, str], checkout: Path | None
) -> str:
    """Pick the template source in order of precedence; fail when there is none."""
    if explicit:
        return explicit
    from_env = environ.get(TEMPLATE_ENV_VAR, "").strip()
    if from_env:
        return from_env
    if checkout is not None:
        return str(checkout)
    raise TemplateError(
        "no template source: --template was not given, $HERMETIC_TEMPLATE is not set, and "
        "hermetic is not running from a git checkout of hermetic-ml",
        "pass --template with a git URL or path of the hermetic-ml template, "
        f"or set {TEMPLATE_ENV_VAR}",
    )
