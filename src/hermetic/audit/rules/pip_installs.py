"""HM204: a Dockerfile RUN that installs Python packages by name without an exact version.

Read: `pip`, `pip3`, `python -m pip`, `uv pip` install commands, wherever a RUN runs them
(`&&` chains, continuation lines, `sh -c`, heredoc scripts). Decisions:
- requirements files (`-r`) are the dependency rules' to judge; a constraints file (`-c`,
  uv's `--override`), `--no-index` (a local wheelhouse) or a PIP_CONSTRAINT/UV_CONSTRAINT the
  Dockerfile sets decide the versions elsewhere, so such a command is not judged;
- local paths (`.`, `./pkg`, `/src`, any `-e` that is not a VCS URL), wheels and archives,
  and plain URLs name one thing; a VCS URL must name a full commit (as HM105 asks);
- `==1.2` and `===1.2` pin; a range (`>=1`, `~=1.2`, `==1.*`) or a bare name does not;
- the packaging tools are packages like any other: `pip install --upgrade pip setuptools` makes
  each build install whatever pip and setuptools are newest (and pip's resolver and setuptools'
  build behaviour have changed under working Dockerfiles), so it is reported, as hadolint's
  DL3013 does;
- a word holding a variable or template markup is unknown and not judged, unless its operator
  already shows a range (`torch>=${VERSION}`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from packaging.requirements import InvalidRequirement, Requirement

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.repository import Repository
from hermetic.audit.rules.dockerfiles import (
    Word,
    dockerfile_instructions,
    dockerfile_texts,
    run_commands,
)

UNPINNED_PIP_INSTALL = Rule(
    "HM204",
    "pip-install-without-version",
    "pip install without an exact version in a Dockerfile",
    Severity.WARNING,
    "Install from a lock: copy a hash-pinned requirements file in and "
    "`pip install --require-hashes -r requirements.txt` (`uv pip compile --generate-hashes` "
    "writes it), or `uv sync --locked` from uv.lock; short of that, name one version, "
    "`pip install torch==2.3.1`, and a VCS URL's commit. A bare name or a range installs "
    "whatever is newest the day the image is built.",
)

PIP = re.compile(r"pip[\d.]*")
PYTHON = re.compile(r"python[\d.]*")
ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=.*", re.DOTALL)
# Words that run the command after them: `sudo -H pip install`, `env X=1 pip install`.
WRAPPERS = frozenset({"sudo", "env", "time", "nohup", "exec", "command", "then", "do", "else", "!"})
# Options that take a value, of pip install and uv pip install (and of pip itself).
VALUE_OPTIONS = frozenset(
    {
        "--abi", "--allow-insecure-host", "--build", "--build-constraint", "--build-constraints",
        "--build-option", "--cache-dir", "--cert", "--client-cert", "--color", "--config-file",
        "--config-setting", "--config-settings", "--default-index", "--directory",
        "--exclude-newer", "--exclude-newer-package", "--exists-action", "--extra",
        "--extra-index-url", "--find-links", "--fork-strategy", "--global-option", "--group",
        "--implementation", "--index", "--index-strategy", "--index-url", "--install-option",
        "--keyring-provider", "--link-mode", "--local-log", "--log", "--log-file",
        "--no-binary", "--no-build-isolation-package", "--no-build-package", "--only-binary",
        "--platform", "--prefix", "--prerelease", "--progress-bar", "--project", "--proxy",
        "--python", "--python-platform", "--python-version", "--refresh-package",
        "--reinstall-package", "--report", "--requirement", "--requirements", "--resolution",
        "--resume-retries", "--retries", "--root", "--root-user-action", "--src", "--target",
        "--timeout", "--torch-backend", "--trusted-host", "--upgrade-package",
        "--upgrade-strategy", "--use-deprecated", "--use-feature",
        "--constraint", "--editable", "--override", "--overrides",
    }
)  # fmt: skip
SHORT_VALUES = frozenset("rceitfbCPp")
EDITABLE = frozenset({"-e", "--editable"})
# Options after which the versions are decided elsewhere than on the command line.
DECIDED_ELSEWHERE = frozenset({"--constraint", "--override", "--overrides", "--no-index", "-c"})
GLOBAL_CONSTRAINTS = re.compile(r"\b(?:PIP_CONSTRAINT|UV_CONSTRAINT|PIP_NO_INDEX)\b")
VCS_URL = re.compile(r"(?:git|hg|svn|bzr)\+", re.IGNORECASE)
FULL_COMMIT = re.compile(r"[0-9a-f]{40}")
ARCHIVES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".egg")
RANGE_OPERATOR = re.compile(r"[<>~!]=?|,|\*")
TEMPLATE_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def findings(repository: Repository) -> Iterator[Finding]:
    for path, text in dockerfile_texts(repository):
        yield from _unpinned_installs(path, text)


def _unpinned_installs(path: str, text: str) -> Iterator[Finding]:
    # Template markup becomes a variable of the same length: unknown, and the lines still hold.
    text = TEMPLATE_EXPRESSION.sub(lambda markup: "$" + "_" * (len(markup[0]) - 1), text)
    instructions = list(dockerfile_instructions(text))
    if any(
        i.keyword in ("ENV", "ARG") and GLOBAL_CONSTRAINTS.search(i.arguments) for i in instructions
    ):
        return
    for instruction in instructions:
        if instruction.keyword != "RUN":
            continue
        for command in run_commands(instruction):
            installed = _pip_install(command)
            if installed is None:
                continue
            installer, arguments = installed
            unpinned = _unpinned(arguments)
            if unpinned:
                yield UNPINNED_PIP_INSTALL.at(path, unpinned[0].line, _message(installer, unpinned))


def _message(installer: str, unpinned: list[Word]) -> str:
    vcs = [VCS_URL.match(word.text) is not None for word in unpinned]
    reason = (
        "no commit hash" if all(vcs) else "no exact version (==) or commit hash" if any(vcs)
        else "no exact version (==)"
    )  # fmt: skip
    listed = ", ".join(word.text for word in unpinned)
    return f"{installer} install {listed}: {reason}, so a rebuild can install another"


def _pip_install(command: list[Word]) -> tuple[str, list[Word]] | None:
    """(the installer, the words after `install`) when COMMAND installs with pip or uv pip."""
    texts = [word.text for word in command]
    index = 0
    while index < len(texts) and (
        texts[index] in WRAPPERS
        or ASSIGNMENT.fullmatch(texts[index])
        or texts[index].startswith("-")
    ):
        index += 1
    program = texts[index].rpartition("/")[2] if index < len(texts) else ""
    if PIP.fullmatch(program):
        installer = program
    elif PYTHON.fullmatch(program) and _runs_pip_module(texts[index + 1 :]):
        installer = f"{program} -m pip"
        index = texts.index("pip", index) if "pip" in texts[index:] else texts.index("-mpip")
    elif program == "uv" and "pip" in texts[index + 1 : index + 2]:
        installer = "uv pip"
        index += 1
    else:
        return None
    index += 1
    while index < len(texts) and texts[index].startswith("-"):  # pip's own options
        takes_value = texts[index] in VALUE_OPTIONS or texts[index] in ("-p", "-C")
        index += 2 if takes_value else 1
    if texts[index : index + 1] != ["install"]:
        return None
    return installer, command[index + 1 :]


def _runs_pip_module(arguments: list[str]) -> bool:
    """`python [-options] -m pip ...`."""
    for index, word in enumerate(arguments):
        if word == "-mpip" or (word == "-m" and arguments[index + 1 : index + 2] == ["pip"]):
            return True
        if not word.startswith("-") or word == "-m":
            return False
    return False


def _unpinned(arguments: list[Word]) -> list[Word]:
    """The requirements ARGUMENTS name without an exact version; none when a constraints file
    or a local index decides the versions."""
    unpinned: list[Word] = []
    index = 0
    while index < len(arguments):
        word = arguments[index]
        if word.text == "--":
            unpinned.extend(w for w in arguments[index + 1 :] if _is_unpinned(w.text))
            break
        option, value, index = _option(arguments, index)
        if option in DECIDED_ELSEWHERE:
            return []
        if not option and _is_unpinned(word.text):
            unpinned.append(word)
        elif option in EDITABLE and value is not None and VCS_URL.match(value.text):
            unpinned.extend([value] if _is_unpinned(value.text) else [])  # -e DIR: one folder
        index += 1
    return unpinned


def _option(arguments: list[Word], index: int) -> tuple[str, Word | None, int]:
    """The option at INDEX ("" for none), its value, and the index of its last word."""
    word = arguments[index]
    if word.text.startswith("--"):
        option, equals, attached = word.text.partition("=")
        if equals or option not in VALUE_OPTIONS:
            return option, Word(attached, word.line), index
    elif word.text.startswith("-") and len(word.text) > 1:
        # Short options group (-qU); one taking a value ends the group or takes the next word.
        letters = word.text[1:]
        taking = next((i for i, letter in enumerate(letters) if letter in SHORT_VALUES), None)
        if taking is None:
            return word.text, None, index
        option, attached = f"-{letters[taking]}", letters[taking + 1 :]
        if attached:
            return option, Word(attached, word.line), index
    else:
        return "", None, index
    following = arguments[index + 1] if index + 1 < len(arguments) else None
    return option, following, index + 1


def _is_unpinned(requirement: str) -> bool:
    """A requirement that can install another version tomorrow; False for what is not one."""
    if VCS_URL.match(requirement) or VCS_URL.search(requirement.partition("@")[2]):
        reference = requirement.split("#", 1)[0].rpartition("/")[2].rpartition("@")
        return not (reference[1] and FULL_COMMIT.fullmatch(reference[2]))
    if "$" in requirement:  # unknown, unless a range shows already
        return "==" not in requirement and bool(RANGE_OPERATOR.search(requirement))
    parsed = _requirement(requirement)
    return parsed is not None and not any(
        spec.operator == "===" or (spec.operator == "==" and "*" not in spec.version)
        for spec in parsed.specifier
    )


def _requirement(word: str) -> Requirement | None:
    """WORD as a requirement by name; None for a local path, a file, a URL or no requirement."""
    if (
        not word
        or word.startswith((".", "/", "~", "-"))
        or any(mark in word for mark in ("://", "/", "\\"))
        or word.lower().endswith(ARCHIVES)
    ):
        return None
    try:
        parsed = Requirement(word)
    except InvalidRequirement:
        return None
    return parsed if parsed.url is None else None
