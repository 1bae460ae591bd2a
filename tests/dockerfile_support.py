"""Reading Dockerfiles without Docker: their stages and instructions, Docker's .dockerignore
matching (what a build context holds), and questions about the images a Dockerfile pulls.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]

    def environment(self) -> dict[str, str]:
        """The stage's ENV values, in order, literally (no $VARIABLE expanded)."""
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            values.update(environment_pairs(instruction.arguments))
        return values

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def read_dockerfile(path: Path) -> list[Stage]:
    """A Dockerfile's stages: continuation lines joined, comment lines dropped (as Docker does)."""
    stages: list[Stage] = []
    pending = ""
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.lstrip().startswith("#") or (not raw.strip() and not pending):
            continue
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        text, pending = pending + raw, ""
        keyword, _, arguments = text.strip().partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip(), start)
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            named = len(words) == 3 and words[1].upper() == "AS"
            assert len(words) == 1 or named, f"{path}:{start}: unexpected FROM {words}"
            stages.append(Stage(base=words[0], name=words[2] if named else None))
        else:
            assert stages, f"{path}:{start}: {instruction.keyword} before the first FROM"
            stages[-1].instructions.append(instruction)
    assert not pending, f"{path}: the last line continues into nothing"
    return stages


def environment_pairs(arguments: str) -> dict[str, str]:
    """`ENV A=1 B="two words"` as a dict (the legacy `ENV A 1` form is not used here)."""
    pairs: dict[str, str] = {}
    for word in shlex.split(arguments):
        key, separator, value = word.partition("=")
        assert separator, f"ENV {arguments!r}: write KEY=VALUE"
        pairs[key] = value
    return pairs


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form instruction (CMD, ENTRYPOINT, HEALTHCHECK ... CMD)."""
    loaded = json.loads(arguments)
    assert isinstance(loaded, list), f"not an exec-form (JSON array) command: {arguments}"
    assert all(isinstance(word, str) for word in loaded), arguments
    return [str(word) for word in loaded]


def split_flags(arguments: str) -> tuple[dict[str, str], list[str]]:
    """The leading `--flag=value` options of COPY or RUN, and the remaining words."""
    words = shlex.split(arguments) if not arguments.lstrip().startswith("[") else [arguments]
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return flags, words


def run_instruction_parts(arguments: str) -> tuple[dict[str, str], str]:
    """A shell-form RUN's flags and its command text, exactly as the shell receives it."""
    flags: dict[str, str] = {}
    rest = arguments
    while match := re.match(r"--([a-z-]+)=(\S+)\s+", rest):
        flags[match.group(1)] = match.group(2)
        rest = rest[match.end() :]
    return flags, rest


# .dockerignore, as Docker's builder reads it (github.com/moby/patternmatcher): patterns are
# cleaned paths; `*` and `?` stay within one path element, `**` spans any number of them; a
# pattern that matches a parent directory matches everything below it; the last pattern that
# matches decides, and a `!` pattern puts a path back into the context.


@dataclass(frozen=True)
class IgnorePattern:
    included: bool
    expression: re.Pattern[str]


def _pattern_expression(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if character == "*":
            parts.append("[^/]*")
        elif character == "?":
            parts.append("[^/]")
        elif character == "[":
            end = pattern.index("]", index + 1)
            body = pattern[index + 1 : end].replace("\\", "\\\\")
            parts.append("[^" + body[1:] + "]" if body.startswith("^") else "[" + body + "]")
            index = end
        elif character == "\\" and index + 1 < len(pattern):
            index += 1
            parts.append(re.escape(pattern[index]))
        else:
            parts.append(re.escape(character))
        index += 1
    return re.compile("".join(parts))


def read_dockerignore(text: str) -> list[IgnorePattern]:
    patterns: list[IgnorePattern] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        included = line.startswith("!")
        cleaned = os.path.normpath(line[1:].strip() if included else line).lstrip("/")
        patterns.append(IgnorePattern(included, _pattern_expression(cleaned)))
    return patterns


def is_in_context(relative: str, patterns: list[IgnorePattern]) -> bool:
    """Whether a file (POSIX path relative to the context root) is sent to the builder."""
    elements = relative.split("/")
    candidates = ["/".join(elements[: count + 1]) for count in range(len(elements))]
    excluded = False
    for pattern in patterns:
        if any(pattern.expression.fullmatch(candidate) for candidate in candidates):
            excluded = not pattern.included
    return not excluded


def build_context(project: Path) -> list[str]:
    """The files of PROJECT that a `docker build` there would send, by its .dockerignore."""
    patterns = read_dockerignore((project / ".dockerignore").read_text(encoding="utf-8"))
    files = (path.relative_to(project).as_posix() for path in project.rglob("*"))
    return sorted(
        relative
        for relative in files
        if (project / relative).is_file() and is_in_context(relative, patterns)
    )


def requirement_lines(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


# Questions about a Dockerfile's stages.


def image_references(stages: list[Stage]) -> list[str]:
    """Every image a Dockerfile pulls: FROM bases and COPY --from sources that are no stage."""
    names = {stage.name for stage in stages}
    sources = [stage.base for stage in stages]
    for stage in stages:
        for instruction in stage.all("COPY"):
            flags, _ = split_flags(instruction.arguments)
            sources.append(flags.get("from", ""))
    return [source for source in sources if source and source not in names]


def copy_sources(stage: Stage) -> list[str]:
    """The `--from` of each COPY of a stage that has one: stage names or images."""
    flags = [split_flags(instruction.arguments)[0] for instruction in stage.all("COPY")]
    return [flag["from"] for flag in flags if "from" in flag]


def copied_images(stage: Stage, stages: list[Stage]) -> list[str]:
    """The images a stage copies from, through the stages that name them."""
    bases = {candidate.name: candidate.base for candidate in stages if candidate.name}
    return [bases.get(source, source) for source in copy_sources(stage)]


def devcontainer_uv_install(stage: Stage) -> list[str]:
    """The words of the DevContainer's `uv pip install` of the project's uv."""
    commands = [run_instruction_parts(instruction.arguments)[1] for instruction in stage.all("RUN")]
    found = [
        shlex.split(part)
        for command in commands
        for part in command.split("&&")
        if part.strip().startswith("uv pip install")
    ]
    assert len(found) == 1, commands
    return found[0]
