"""Dockerfiles: which files are ones, their instructions, and the shell commands a RUN runs.

A Dockerfile is found by its name, in any case: `Dockerfile` or `Containerfile`, alone or
joined by `.`, `-` or `_` to a variant (`Dockerfile.gpu`, `Dockerfile-cpu`, `dockerfile_dev`,
`gpu.Dockerfile`, `cuda-12.dockerfile`), template suffixes (`.jinja`) included. Not one: a name
whose last suffix says it is something else (`dockerfile_utils.py`, `Dockerfile.md`,
`Dockerfile.dockerignore`); folders are never looked at, only file names.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import NamedTuple

from hermetic.audit.repository import Repository

DOCKERFILE_NAME = re.compile(r"(?:.+[._-])?(?:docker|container)file(?:[._-].+)?", re.IGNORECASE)
# Suffixes of the files that sit beside Dockerfiles and share their names.
OTHER_SUFFIXES = frozenset(
    {
        "bak", "bat", "cfg", "cmd", "csv", "diff", "dockerignore", "go", "html", "ini", "ipynb",
        "java", "js", "json", "lock", "log", "md", "orig", "patch", "pdf", "png", "ps1", "py",
        "pyc", "rej", "rs", "rst", "sh", "svg", "swp", "toml", "ts", "txt", "xml", "yaml", "yml",
    }
)  # fmt: skip
# Globs, in any case, that every Dockerfile's name matches (is_dockerfile then decides);
# `hermetic pin` reads the same tuple.
_ANY_CASE = ["".join(f"[{c.upper()}{c}]" for c in word) for word in ("dockerfile", "containerfile")]
DOCKERFILES = tuple(glob for word in _ANY_CASE for glob in (f"{word}*", f"*[._-]{word}*"))
ESCAPE_DIRECTIVE = re.compile(r"#\s*escape\s*=\s*([\\`])\s*$", re.IGNORECASE)
HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_]\w*)\2")
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})
COMMAND_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&", "{", "}"})


def is_dockerfile(path: str) -> bool:
    """Whether PATH's file name is a Dockerfile's (its folders do not count)."""
    name = PurePosixPath(path).name
    suffix = name.rpartition(".")[2].lower() if "." in name else ""
    return DOCKERFILE_NAME.fullmatch(name) is not None and suffix not in OTHER_SUFFIXES


def dockerfile_texts(repository: Repository) -> Iterator[tuple[str, str]]:
    """(path, text) of the repository's Dockerfiles and Containerfiles."""
    for path in repository.matching(*DOCKERFILES):
        text = repository.text(path) if is_dockerfile(path) else None
        if text is not None:
            yield path, text


# --- Instructions -----------------------------------------------------------------------------


class Heredoc(NamedTuple):
    """A heredoc's body: TEXT, from LINE (1-based)."""

    line: int
    text: str


class Instruction(NamedTuple):
    """A Dockerfile instruction, continuation lines joined; LINE is where it starts. STARTS
    holds (offset in ARGUMENTS, line) for each physical line it spans; HEREDOCS its bodies."""

    line: int
    keyword: str
    arguments: str
    starts: tuple[tuple[int, int], ...] = ()
    heredocs: tuple[Heredoc, ...] = ()

    def line_at(self, offset: int) -> int:
        """The line of the character at OFFSET in ARGUMENTS."""
        return max((line for start, line in self.starts if start <= offset), default=self.line)


def dockerfile_instructions(text: str) -> Iterator[Instruction]:
    """The instructions of a Dockerfile, comments skipped, heredoc bodies kept apart."""
    lines = text.splitlines()
    escape = _escape_character(lines)
    index = 0
    while index < len(lines):
        start = index
        if _is_blank_or_comment(lines[index]):
            index += 1
            continue
        parts: list[tuple[int, str]] = []
        continued = True
        while continued and index < len(lines):
            current = lines[index].rstrip()
            continued = current.endswith(escape)
            parts.append((index + 1, current.removesuffix(escape) if continued else current))
            index += 1
            while continued and index < len(lines) and _is_blank_or_comment(lines[index]):
                index += 1
        joined = " ".join(part for _, part in parts)
        keyword, _, rest = joined.lstrip().partition(" ")
        arguments = rest.strip()
        base = (
            len(joined) - len(joined.lstrip()) + len(keyword) + 1 + len(rest) - len(rest.lstrip())
        )
        starts: list[tuple[int, int]] = []
        offset = -base
        for number, part in parts:
            starts.append((offset, number))
            offset += len(part) + 1
        heredocs: list[Heredoc] = []
        for heredoc in HEREDOC.finditer(arguments):
            end = _after_heredoc(lines, index, heredoc[3])
            body = lines[index : max(index, end - 1)]
            if heredoc[1]:  # <<- strips leading tabs
                body = [line.lstrip("\t") for line in body]
            heredocs.append(Heredoc(index + 1, "\n".join(body)))
            index = end
        yield Instruction(start + 1, keyword.upper(), arguments, tuple(starts), tuple(heredocs))


def _escape_character(lines: list[str]) -> str:
    """The `# escape=` parser directive's character (backslash by default)."""
    for line in lines:
        directive = ESCAPE_DIRECTIVE.match(line.strip())
        if directive:
            return directive[1]
        if not line.startswith("#"):
            break
    return "\\"


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _after_heredoc(lines: list[str], index: int, terminator: str) -> int:
    """The index after a heredoc's terminator line; INDEX itself when it has none."""
    for offset, line in enumerate(lines[index:]):
        if line.strip() == terminator:
            return index + offset + 1
    return index


# --- The shell commands of a RUN --------------------------------------------------------------


class Word(NamedTuple):
    """A shell word, quotes removed, and the LINE it is on."""

    text: str
    line: int


def run_commands(instruction: Instruction) -> Iterator[list[Word]]:
    """The simple commands a RUN instruction runs: its shell form split at `&&`, `;`, `|`...,
    its exec form, and heredoc bodies that a shell runs (`RUN <<EOF`, `RUN bash <<EOF`);
    `sh -c '...'` is opened. Redirections and their targets are left out."""
    arguments = instruction.arguments
    while arguments.startswith("--"):  # RUN --mount=... --network=...
        arguments = arguments.partition(" ")[2].lstrip()
    offset = len(instruction.arguments) - len(arguments)
    if arguments.startswith("["):
        try:
            exec_form = json.loads(arguments)
        except ValueError:
            exec_form = None
        if isinstance(exec_form, list) and all(isinstance(word, str) for word in exec_form):
            yield from _opened([Word(word, instruction.line) for word in exec_form])
            return
    commands = list(_commands(arguments, instruction.line_at, offset))
    runner = [word.text for command in commands for word in command]
    if instruction.heredocs and all(
        word in SHELLS or word.rpartition("/")[2] in SHELLS or word.startswith("-")
        for word in runner
    ):
        for heredoc in instruction.heredocs:
            shebang = heredoc.text.partition("\n")[0] if heredoc.text.startswith("#!") else ""
            interpreters = {word.rpartition("/")[2] for word in shebang[2:].split()}
            if not shebang or interpreters & SHELLS:  # not a Python script's heredoc
                yield from script_commands(heredoc.text, heredoc.line)
        return
    for command in commands:
        yield from _opened(command)


def script_commands(text: str, first_line: int) -> Iterator[list[Word]]:
    """The simple commands of a shell script TEXT whose first line is FIRST_LINE."""
    joined = text.replace("\\\n", "  ")  # continuation lines, offsets kept

    def line_of(at: int) -> int:
        return first_line + text.count("\n", 0, at)

    start = 0
    for line in joined.split("\n"):
        for command in _commands(line, line_of, start):
            yield from _opened(command)
        start += len(line) + 1


def _commands(text: str, line_of: Callable[[int], int], base: int = 0) -> Iterator[list[Word]]:
    """The simple commands of one line of shell TEXT; LINE_OF maps an offset to its line, TEXT
    starting at offset BASE."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # a `#` inside a word (a URL's #egg=) starts no comment
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote
        tokens = text.split()
    command: list[Word] = []
    cursor = 0
    redirected = False
    for token in tokens:
        found = text.find(token, cursor)  # quotes removed, a token is mostly found as it is
        at = cursor if found < 0 else found
        cursor = at + len(token) if found >= 0 else cursor
        if token.startswith("#"):
            break
        if token in COMMAND_SEPARATORS:
            if command:
                yield command
            command, redirected = [], False
        elif set(token) <= set("<>&|") and ("<" in token or ">" in token):
            if command and command[-1].text.isdigit():  # 2>&1: the descriptor is no word
                command.pop()
            redirected = True
        elif redirected:
            redirected = False  # the redirection's target
        else:
            command.append(Word(token, line_of(base + at)))
    if command:
        yield command


def _opened(command: list[Word]) -> Iterator[list[Word]]:
    """COMMAND, or the commands of the script it runs with `sh -c SCRIPT`."""
    texts = [word.text for word in command]
    if texts and texts[0].rpartition("/")[2] in SHELLS:
        flag = next((i for i, t in enumerate(texts[1:-1], 1) if re.fullmatch("-[a-z]*c", t)), 0)
        if flag:
            script = command[flag + 1]
            yield from _commands(script.text, lambda _: script.line)
            return
    yield command
