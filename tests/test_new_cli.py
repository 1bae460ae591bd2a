"""`hermetic new` and `hermetic --version`, run in-process with typer's runner."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from datetime import UTC, datetime
from pathlib import Path

import copier
import pytest
from typer.testing import CliRunner, Result

from hermetic import __version__
from hermetic.cli import app
from tests.helpers import TEMPLATE_TAG, free_port, git, read_answers

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def new(template: Path, destination: Path, *extra: str) -> Result:
    return invoke("new", str(destination), "--template", str(template), "--defaults", *extra)


def assert_nothing_left(parent: Path, before: set[str]) -> None:
    """A failed generation leaves the parent directory as it found it."""
    assert {entry.name for entry in parent.iterdir()} == before


def assert_refused(result: Result, destination: Path, *phrases: str) -> None:
    """Exit 2, a message with the problem and its fix, and no project written."""
    assert result.exit_code == 2, result.output
    for phrase in phrases:
        assert phrase in result.stderr
    assert "fix:" in result.stderr
    assert not destination.exists()


def test_version_names_the_tool_and_copier() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"hermetic {__version__} (copier {copier.__version__})"


def test_new_renders_commits_and_reports_each_step(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "churn"
    result = new(template_repo, destination, "--no-lock", "--data", "project_name=churn")

    assert result.exit_code == 0, result.output
    assert re.search(r"✓ Render template .* \(\d+\.\d s\)", result.output)
    assert re.search(r"✓ Create git repository with a first commit \(\d+\.\d s\)", result.output)
    assert not [step for step in re.findall(r"✓ (.*)", result.output) if "uv lock" in step]
    answers = read_answers(destination)
    assert answers["_src_path"] == str(template_repo)
    assert answers["_commit"] == TEMPLATE_TAG
    assert answers["package_name"] == "churn"
    assert git("status", "--porcelain", cwd=destination) == ""
    assert len(git("log", "--format=%H", cwd=destination).split()) == 1
    assert git("log", "--format=%an <%ae>", cwd=destination).strip() == (
        "Hermetic Test <test@hermetic-ml.invalid>"
    )
    assert not (destination / "uv.lock").exists()


@pytest.mark.parametrize(
    ("display", "distribution", "package"),
    [
        ("Lead Conversion", "lead-conversion", "lead_conversion"),
        ("Seán's Churn Model 2", "seans-churn-model-2", "seans_churn_model_2"),
        ("Łódź Straße: Forecast v3.1", "lodz-strasse-forecast-v3-1", "lodz_strasse_forecast_v3_1"),
        ("2024 Demand Forecast", "2024-demand-forecast", "ml_2024_demand_forecast"),
    ],
)
def test_a_display_name_is_shown_and_the_other_names_derived(
    template_repo: Path, tmp_path: Path, display: str, distribution: str, package: str
) -> None:
    destination = tmp_path / "project"
    result = new(template_repo, destination, "--no-lock", "--data", f"project_name={display}")
    assert result.exit_code == 0, result.output
    answers = read_answers(destination)
    assert (answers["project_name"], answers["distribution_name"], answers["package_name"]) == (
        display,
        distribution,
        package,
    )
    assert (destination / "README.md").read_text(encoding="utf-8").startswith(f"# {display}\n")
    pyproject = (destination / "pyproject.toml").read_text(encoding="utf-8")
    assert f'name = "{distribution}"' in pyproject
    assert (destination / "src" / package / "__init__.py").is_file()
    devcontainer = (destination / ".devcontainer/cpu/devcontainer.json").read_text("utf-8")
    assert f'"name": {json.dumps(f"{display} (CPU)")},' in devcontainer


def test_derived_names_stay_overridable(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "project"
    overrides = ["project_name=Churn", "distribution_name=acme-churn", "package_name=churn_core"]
    result = new(
        template_repo, destination, "--no-lock", *[a for o in overrides for a in ("-d", o)]
    )
    assert result.exit_code == 0, result.output
    assert 'name = "acme-churn"' in (destination / "pyproject.toml").read_text(encoding="utf-8")
    assert (destination / "src" / "churn_core" / "__init__.py").is_file()


def test_new_fills_an_existing_empty_directory(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "empty"
    destination.mkdir()
    result = new(template_repo, destination, "--no-lock")
    assert result.exit_code == 0, result.output
    assert (destination / "pyproject.toml").is_file()


def test_new_creates_missing_parent_directories(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "teams" / "growth" / "churn"
    result = new(template_repo, destination, "--no-lock")
    assert result.exit_code == 0, result.output
    assert (destination / ".git").is_dir()


def test_first_commit_falls_back_to_the_author_answers_without_a_git_identity(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_config = tmp_path / "gitconfig"
    empty_config.write_text("", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty_config))
    destination = tmp_path / "p"
    result = new(
        template_repo,
        destination,
        "--no-lock",
        "-d",
        "author_name=Ada Lovelace",
        "-d",
        "author_email=ada@example.org",
    )
    assert result.exit_code == 0, result.output
    assert git("log", "--format=%an <%ae>", cwd=destination).strip() == (
        "Ada Lovelace <ada@example.org>"
    )


def test_template_comes_from_the_environment_variable(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERMETIC_TEMPLATE", str(template_repo))
    destination = tmp_path / "from-env"
    result = invoke("new", str(destination), "--defaults", "--no-lock")
    assert result.exit_code == 0, result.output
    answers = read_answers(destination)
    assert answers["_src_path"] == str(template_repo)


def test_a_relative_template_path_is_recorded_absolute(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(template_repo.parent)
    destination = tmp_path / "relative"
    result = new(Path(template_repo.name), destination, "--no-lock")
    assert result.exit_code == 0, result.output
    answers = read_answers(destination)
    assert answers["_src_path"] == str(template_repo)


def test_latest_tag_by_default_and_vcs_ref_selects_another(
    template_repo: Path, tmp_path: Path
) -> None:
    template_v2 = tmp_path / "template-v2"
    git("clone", "--quiet", str(template_repo), str(template_v2), cwd=tmp_path)
    readme = template_v2 / "template" / "README.md.jinja"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nRelease two.\n", encoding="utf-8")
    git("commit", "--quiet", "--all", "-m", "v2", cwd=template_v2)
    git("tag", "v0.2.0", cwd=template_v2)

    latest, pinned = tmp_path / "latest", tmp_path / "pinned"
    assert new(template_v2, latest, "--no-lock").exit_code == 0
    assert new(template_v2, pinned, "--no-lock", "--vcs-ref", TEMPLATE_TAG).exit_code == 0

    def commit_of(project: Path) -> str:
        answers = read_answers(project)
        return str(answers["_commit"])

    assert commit_of(latest) == "v0.2.0"
    assert "Release two." in (latest / "README.md").read_text(encoding="utf-8")
    assert commit_of(pinned) == TEMPLATE_TAG
    assert "Release two." not in (pinned / "README.md").read_text(encoding="utf-8")


def test_the_lock_date_defaults_to_the_utc_generation_date(
    template_repo: Path, tmp_path: Path
) -> None:
    before = datetime.now(UTC).date().isoformat()
    result = new(template_repo, tmp_path / "p", "--no-lock")
    after = datetime.now(UTC).date().isoformat()
    assert result.exit_code == 0, result.output
    answers = read_answers(tmp_path / "p")
    assert answers["exclude_newer"] in {before, after}


def test_a_symlink_to_an_empty_directory_is_filled_through_the_link(
    template_repo: Path, tmp_path: Path
) -> None:
    target = tmp_path / "real"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    result = new(template_repo, tmp_path / "link", "--no-lock")
    assert result.exit_code == 0, result.output
    assert (target / "pyproject.toml").is_file()
    assert (tmp_path / "link").is_symlink()


def test_an_unwritable_destination_is_an_error_not_a_traceback(
    template_repo: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = new(template_repo, blocker / "project", "--no-lock")
    assert_refused(result, blocker / "project", "could not write the project", str(blocker))
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_next_steps_quote_the_path_for_the_shell(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "with space"
    result = new(template_repo, destination, "--no-lock")
    assert result.exit_code == 0, result.output
    assert f"cd {shlex.quote(str(destination))} &&" in result.output


BAD_ANSWERS = [
    (["-d", "package_name=my-pkg"], "package_name", "lower-case Python identifier"),
    (["-d", "package_name=class"], "package_name", "Python keyword"),
    (["-d", "package_name=platform"], "package_name", "standard-library, dependency or test"),
    (["-d", "package_name=rich"], "package_name", "standard-library, dependency or test"),
    (["-d", "package_name=test_cli"], "package_name", "standard-library, dependency or test"),
    # A display name whose derived distribution name is taken: the fix is to set that name.
    (["-d", "project_name=Click"], "distribution_name", "set distribution_name to another"),
    (
        ["-d", "distribution_name=Prometheus.Client"],
        "distribution_name",
        "a distribution the project depends on",
    ),
    (["-d", "author_email=ada.example.org"], "author_email", "not an e-mail address"),
    (["-d", "license=GPL-3.0"], "license", "'GPL-3.0' is not in"),
    (["-d", "distribution_name=-bad-"], "distribution_name", "letter or digit"),
    (["-d", "project_name=  "], "project_name", "single non-empty line"),
    (["-d", "project_name=***"], "project_name", "must contain a letter or digit"),
    (["-d", "package_name=3d_model"], "package_name", "not starting with a digit"),
    (["-d", "exclude_newer=yesterday"], "exclude_newer", "YYYY-MM-DD"),
    (["-d", "exclude_newer=2027-02-30"], "exclude_newer", "day is out of range for month"),
    (["-d", "exclude_newer=2023-01-01"], "exclude_newer", "or later: an earlier lock date"),
    (["-d", "with_serving=flase"], "with_serving", "--data with_serving=true"),
    (["-d", "dvc_remote=s3", "-d", "dvc_remote_url=/data"], "dvc_remote_url", "s3://"),
    (["-d", "dvc_remote_url=../storage"], "dvc_remote_url", "must be absolute"),
    (["-d", "data_source=csv"], "data_source", "'csv' is not in"),
    # The file source's demo snapshot is written with the locked environment --no-lock skips.
    (["-d", "data_source=file"], "data_source=file", "--no-lock does not create"),
    (["-d", "licence=MIT"], "licence", "use one of: project_name"),
    (["-d", "license"], "'license'", "KEY=VALUE"),
    (["-d", "license=MIT", "-d", "license=MIT"], "'license'", "more than once"),
]


@pytest.mark.parametrize(("arguments", "names", "explains"), BAD_ANSWERS)
def test_bad_answers_exit_2_naming_the_question_and_leave_nothing(
    template_repo: Path, tmp_path: Path, arguments: list[str], names: str, explains: str
) -> None:
    before = {entry.name for entry in tmp_path.iterdir()}
    result = new(template_repo, tmp_path / "project", "--no-lock", *arguments)
    assert result.exit_code == 2, result.output
    assert names in result.stderr
    assert explains in result.stderr
    assert "fix:" in result.stderr
    assert_nothing_left(tmp_path, before)


def test_a_non_empty_destination_is_refused_and_left_untouched(
    template_repo: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "existing"
    destination.mkdir()
    precious = destination / "notes.txt"
    precious.write_text("do not lose me", encoding="utf-8")
    result = new(template_repo, destination, "--no-lock")
    assert result.exit_code == 2
    assert "already exists and is not an empty directory" in result.stderr
    assert "hermetic update" in result.stderr
    assert [entry.name for entry in destination.iterdir()] == ["notes.txt"]
    assert precious.read_text(encoding="utf-8") == "do not lose me"


def test_questions_cannot_be_asked_without_a_terminal(template_repo: Path, tmp_path: Path) -> None:
    result = invoke("new", str(tmp_path / "p"), "--template", str(template_repo), "--no-lock")
    assert_refused(result, tmp_path / "p", "--defaults")


def test_a_template_that_is_not_a_git_repository_is_refused(
    template_repo: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain-template"
    shutil.copytree(template_repo, plain, ignore=shutil.ignore_patterns(".git"))
    result = new(plain, tmp_path / "p", "--no-lock")
    assert_refused(result, tmp_path / "p", "not a git repository")


def test_an_unknown_vcs_ref_is_a_template_problem_not_an_answer_problem(
    template_repo: Path, tmp_path: Path
) -> None:
    result = new(template_repo, tmp_path / "p", "--no-lock", "--vcs-ref", "v9.9.9")
    assert_refused(result, tmp_path / "p", "v9.9.9", "--vcs-ref")
    assert "--data" not in result.stderr


def test_help_shows_where_the_defaults_come_from() -> None:
    result = runner.invoke(app, ["new", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "$HERMETIC_TEMPLATE, else this checkout" in result.output
    assert "latest tag, else HEAD" in result.output


def test_a_missing_template_is_refused(tmp_path: Path) -> None:
    result = new(tmp_path / "nowhere", tmp_path / "p", "--no-lock")
    assert_refused(result, tmp_path / "p", "not a directory holding a copier.yml")


def _path_with_only(tmp_path: Path, *tools: str) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None, f"{tool} must be installed for this test"
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.parametrize(("present", "missing"), [("git", "uv"), ("uv", "git")])
def test_a_missing_tool_is_named_before_anything_is_written(
    template_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    present: str,
    missing: str,
) -> None:
    monkeypatch.setenv("PATH", _path_with_only(tmp_path, present))
    before = {entry.name for entry in tmp_path.iterdir()}
    result = new(template_repo, tmp_path / "p")
    assert result.exit_code == 2
    assert f"`{missing}` was not found on PATH" in result.stderr
    assert_nothing_left(tmp_path, before)


def test_uv_is_not_needed_without_locking(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _path_with_only(tmp_path, "git"))
    result = new(template_repo, tmp_path / "p", "--no-lock")
    assert result.exit_code == 0, result.output


def test_an_unreachable_registry_fails_the_lock_and_points_at_no_lock(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_DEFAULT_INDEX", f"http://127.0.0.1:{free_port()}/simple")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    (tmp_path / "empty-uv-cache").mkdir()
    before = {entry.name for entry in tmp_path.iterdir()}
    destination = tmp_path / "deep" / "er" / "project"

    result = new(template_repo, destination)

    assert result.exit_code == 2, result.output
    assert "could not reach the package registry" in result.stderr
    assert "--no-lock" in result.stderr
    assert re.search(r"✗ Lock dependencies", result.output)
    assert_nothing_left(tmp_path, before)
