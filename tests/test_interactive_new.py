"""Interactive `hermetic new` in a real pseudo-terminal, read back through a terminal emulator:
every question copier asks shows once and cleanly, no spinner draws while questions are asked,
and the typed answers land in the project.

The questions come from copier.yml (its `!include`s and `when:` conditions), so the test follows
the template's question list as it changes."""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyte
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from tests.helpers import child_environment, copier_config

COLUMNS, LINES = 400, 100  # wide enough that no question's help wraps
QUESTION_MARK = "🎤"  # copier's mark before each question it asks
SPINNER_FRAME = re.compile("[\u2800-\u28ff]")  # rich's "dots" spinner draws braille characters
ESCAPE_SEQUENCE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")  # CSI and two-byte ones
ENTER, DOWN, ERASE_LINE = "\r", "\x1b[B", "\x15"  # Ctrl-U: erase the pre-filled default
TYPED_ANSWERS = {
    "author_name": "Ada Lovelace (typed in a pty)",
    "description": "Churn model whose questions were answered through a pseudo-terminal.",
}
ARROW_CHOSEN = "license"  # a choice question answered with the arrow keys, not its default
PROMPT_TIMEOUT_S = 60.0  # the first prompt waits for copier to clone the template
EXIT_TIMEOUT_S = 180.0
RICH_OVERRIDES = ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_TERMINAL")
# copier's cast_to_bool words (copier/_tools.py) for a rendered `when:`
_FALSE_WORDS = frozenset({"", "0", "n", "no", "f", "false", "off", "~", "null", "none"})


@dataclass(frozen=True)
class Question:
    name: str
    spec: dict[str, Any]

    @property
    def prompt(self) -> str:
        """What copier shows before the answer: its mark and the help (or the name)."""
        help_text = str(self.spec.get("help", "")).strip()
        if help_text:
            return f"{QUESTION_MARK} {help_text}"
        kind = self.spec.get("type", "str")
        return f"{QUESTION_MARK} {self.name}" + ("" if kind == "str" else f" ({kind})")

    @property
    def may_be_asked(self) -> bool:
        return self.spec.get("when", True) is not False and self.spec.get("ask", True) is not False

    def asked(self, context: dict[str, Any]) -> bool:
        return all(_true(self.spec.get(key, True), context) for key in ("when", "ask"))

    def keys(self) -> str:
        if self.name in TYPED_ANSWERS:
            return ERASE_LINE + TYPED_ANSWERS[self.name] + ENTER
        return DOWN + ENTER if self.name == ARROW_CHOSEN else ENTER


def _true(condition: Any, context: dict[str, Any]) -> bool:
    if not isinstance(condition, str):
        return bool(condition)
    environment = SandboxedEnvironment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        undefined=StrictUndefined,
    )
    return environment.from_string(condition).render(context).strip().lower() not in _FALSE_WORDS


def template_questions(template: Path) -> list[Question]:
    """copier.yml's questions in order: its documents merged, `!include`s read in place."""
    merged = copier_config(template)
    return [
        Question(name, spec if isinstance(spec, dict) else {"default": spec})
        for name, spec in merged.items()
        if not name.startswith("_")
    ]


class _AnsweringScreen(pyte.HistoryScreen):
    """A screen that answers the program's queries (cursor position), as a real terminal does."""

    def __init__(self, reply: Callable[[str], None]) -> None:
        super().__init__(COLUMNS, LINES, history=2000)
        self._reply = reply

    def write_process_input(self, data: str) -> None:
        self._reply(data)


class Terminal:
    """A command on a pseudo-terminal, its output fed to a terminal emulator."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        environment = child_environment(
            TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(LINES)
        )
        for variable in RICH_OVERRIDES:  # the emulator is a terminal: let rich see it as one
            environment.pop(variable, None)
        self.process = subprocess.Popen(
            command, cwd=cwd, env=environment, stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.screen = _AnsweringScreen(self.send)
        self.stream = pyte.Stream(self.screen)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.transcript = ""  # everything the program wrote, escape sequences included
        self.closed = False

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def read(self, seconds: float) -> None:
        """Feed the emulator what the program writes next, waiting at most SECONDS for it."""
        wait = seconds
        while not self.closed:
            ready, _, _ = select.select([self.master], [], [], wait)
            if not ready:
                return
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the program exited and closed the terminal
                chunk = b""
            self.closed = not chunk
            text = self.decoder.decode(chunk, final=self.closed)
            self.transcript += text
            self.stream.feed(text)
            wait = 0.02  # drain what follows at once, then let the caller look

    def wait_for_any(self, texts: list[str], timeout: float) -> bool:
        """Whether one of TEXTS shows on the screen within TIMEOUT, before the program exits."""
        deadline = time.monotonic() + timeout
        while not any(text in self.text() for text in texts):
            if self.closed or (left := deadline - time.monotonic()) <= 0:
                return False
            self.read(left)
        return True

    def lines(self) -> list[str]:
        """The scrollback and the screen, one string a line, trailing blanks dropped."""
        screen_lines = [self.screen.buffer[row] for row in range(self.screen.lines)]
        return [_row_text(line) for line in [*self.screen.history.top, *screen_lines]]

    def text(self) -> str:
        return "\n".join(line for line in self.lines() if line)

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status, once the program has exited and all it wrote is read."""
        deadline = time.monotonic() + timeout
        while not self.closed and (left := deadline - time.monotonic()) > 0:
            self.read(left)
        try:
            return self.process.wait(timeout=max(deadline - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired:
            return None


@contextmanager
def terminal(command: list[str], cwd: Path) -> Iterator[Terminal]:
    """The running terminal; its program killed, whatever happens, once the block ends."""
    running = Terminal(command, cwd)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            os.killpg(running.process.pid, signal.SIGKILL)
        running.process.wait(timeout=30)
        os.close(running.master)


def _row_text(cells: Mapping[int, pyte.screens.Char]) -> str:
    """A row of the emulator's buffer as text (a wide character's second cell holds "")."""
    width = max(cells, default=-1) + 1  # only written cells are stored; the others are blank
    blank = pyte.screens.Char(" ")
    return "".join(cells.get(column, blank).data for column in range(width)).rstrip()


def _plain(transcript: str) -> str:
    """The transcript without its escape sequences (colours, cursor moves)."""
    return ESCAPE_SEQUENCE.sub("", transcript)


def _around(text: str, index: int) -> str:
    return text[max(index - 300, 0) : index + 300]


def _hermetic() -> str:
    return str(Path(sys.executable).with_name("hermetic"))  # the installed entry point


def _line_with(lines: list[str], prompt: str, *, offset: int = 0) -> str:
    """The line showing PROMPT, or the one OFFSET lines below it."""
    return next(lines[index + offset] for index, line in enumerate(lines) if prompt in line)


def test_interactive_new_asks_each_question_once_cleanly(
    template_repo: Path, tmp_path: Path
) -> None:
    questions = template_questions(template_repo)
    candidates = [question for question in questions if question.may_be_asked]
    names = {question.name for question in questions}
    assert {*TYPED_ANSWERS, ARROW_CHOSEN} <= names, "copier.yml lost a question this test answers"
    chosen = next(question for question in questions if question.name == ARROW_CHOSEN)
    choices = [str(choice) for choice in chosen.spec["choices"]]
    expected_choice = choices[(choices.index(str(chosen.spec["default"])) + 1) % len(choices)]
    destination = tmp_path / "project"
    command = [_hermetic(), "new", str(destination), "--template", str(template_repo), "--no-lock"]

    answered: list[Question] = []
    with terminal(command, tmp_path) as running:
        for index, question in enumerate(candidates):
            later = [other.prompt for other in candidates[index + 1 :]]
            shown = running.wait_for_any([question.prompt, *later], PROMPT_TIMEOUT_S)
            assert shown or running.closed, (
                f"no question shown after {answered[-1].name if answered else 'the start'}:\n"
                f"{running.text()}"
            )
            if question.prompt in running.text():  # else its `when:` skipped it
                running.send(question.keys())
                answered.append(question)
        asked_transcript = running.transcript  # all the program wrote until the last answer
        returncode = running.wait_exit(EXIT_TIMEOUT_S)
        screen = running.lines()
        shown_text = running.text()

    assert returncode == 0, f"hermetic new exited with {returncode}:\n{shown_text}"
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    # `when:` conditions read earlier answers; the hidden variables' literal defaults too
    literal_defaults = {q.name: q.spec.get("default") for q in questions if not _templated(q)}
    asked = [question for question in questions if question.asked(literal_defaults | answers)]
    assert [q.name for q in answered] == [q.name for q in asked], shown_text
    assert shown_text.count(QUESTION_MARK) == len(asked), f"a question shown twice:\n{shown_text}"
    for question in asked:
        assert shown_text.count(question.prompt) == 1, f"{question.name} not once:\n{shown_text}"
        line = _line_with(screen, question.prompt)
        assert line == question.prompt, f"{question.name}'s line garbled: {line!r}"
    spinner = SPINNER_FRAME.search(plain_asked := _plain(asked_transcript))
    assert spinner is None, (
        f"a spinner drew while questions were asked: {_around(plain_asked, spinner.start())!r}"
    )
    for question in asked:
        answer = answers[question.name]
        if question.name in TYPED_ANSWERS:
            assert answer == TYPED_ANSWERS[question.name]
            shown_answer = _line_with(screen, question.prompt, offset=1)  # copier shows it below
            assert shown_answer.strip() == answer
        elif question.name == ARROW_CHOSEN:
            assert answer == expected_choice
        elif not _templated(question):
            assert answer == question.spec.get("default"), f"{question.name}: Enter kept no default"
    assert re.search(r"^✓ Render template .* \(\d+\.\d s\)$", shown_text, re.MULTILINE)


def _templated(question: Question) -> bool:
    """Whether the question's default is a Jinja template (derived from other answers)."""
    default = question.spec.get("default")
    return isinstance(default, str) and "{" in default


def test_new_with_defaults_shows_progress(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "project"
    command = [_hermetic(), "new", str(destination), "--template", str(template_repo),
               "--defaults", "--no-lock"]  # fmt: skip
    with terminal(command, tmp_path) as running:
        returncode = running.wait_exit(EXIT_TIMEOUT_S)
        transcript, shown_text = running.transcript, running.text()
    assert returncode == 0, shown_text
    assert re.search(f"{SPINNER_FRAME.pattern} Render template", _plain(transcript)), shown_text
    assert QUESTION_MARK not in transcript
    assert re.search(r"^✓ Render template .* \(\d+\.\d s\)$", shown_text, re.MULTILINE)
