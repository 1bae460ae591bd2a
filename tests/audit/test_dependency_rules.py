"""HM101-HM107: dependency hazards, planted in small repositories and found at their lines."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from hermetic.audit.repository import load_repository
from hermetic.audit.rules.dependencies import (
    RULES,
    check,
    floating_vcs_reason,
    is_pre_release,
    parse_requirement,
    requirements_entries,
)
from tests.audit.planting import commit_all, plant
from tests.helpers import REPO_ROOT

SHA = "0123456789abcdef0123456789abcdef01234567"
HASH = "--hash=sha256:" + "ab" * 32

PYPROJECT = dedent(
    """\
    [project]
    name = "demo"
    version = "0.1.0"
    dependencies = [
        "numpy==2.4.6",
        "pandas[pyarrow]>=3.0,<4",
        "uvloop==0.23.0; sys_platform != 'win32'",
    ]

    [dependency-groups]
    test = ["pytest==9.2.0"]
    dev = [
        {include-group = "test"},
        "ruff==0.17.6",
    ]
    """
)
# What uv writes for PYPROJECT: normalised, reordered, markers rewritten, groups flattened.
UV_LOCK = dedent(
    """\
    version = 1
    revision = 3
    requires-python = ">=3.11"

    [[package]]
    name = "demo"
    version = "0.1.0"
    source = { editable = "." }
    dependencies = [
        { name = "numpy" },
    ]

    [package.metadata]
    requires-dist = [
        { name = "numpy", specifier = "==2.4.6" },
        { name = "pandas", extras = ["pyarrow"], specifier = "<4,>=3.0" },
        { name = "uvloop", marker = "sys_platform != 'win32'", specifier = "==0.23.0" },
    ]

    [package.metadata.requires-dev]
    dev = [
        { name = "pytest", specifier = "==9.2.0" },
        { name = "ruff", specifier = "==0.17.6" },
    ]
    test = [{ name = "pytest", specifier = "==9.2.0" }]

    [[package]]
    name = "numpy"
    version = "2.4.6"
    source = { registry = "https://pypi.org/simple" }
    """
)


def findings(root: Path, prefix: str = "HM1") -> set[tuple[str, str, int]]:
    """(rule, path, line) of this family's findings whose rule ID starts with PREFIX."""
    return {
        (f.rule_id, f.path, f.line)
        for f in check(load_repository(root))
        if f.rule_id.startswith(prefix)
    }


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the one line of TEXT that contains NEEDLE."""
    numbers = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(numbers) == 1, (needle, numbers)
    return numbers[0]


def test_rules_are_the_documented_family() -> None:
    assert [rule.id for rule in RULES] == [f"HM10{n}" for n in range(1, 8)]
    assert all(rule.fix and rule.title for rule in RULES)


# HM101: dependencies without a lock.


def test_a_pyproject_without_a_lock_is_reported_at_its_dependencies(tmp_path: Path) -> None:
    plant(tmp_path, {"pyproject.toml": PYPROJECT})
    expected_line = line_of(PYPROJECT, "dependencies = [")
    assert findings(tmp_path) == {("HM101", "pyproject.toml", expected_line)}


@pytest.mark.parametrize(
    "lock", ["uv.lock", "poetry.lock", "pdm.lock", "pylock.toml", "pylock.gpu.toml"]
)
def test_any_lock_beside_the_pyproject_locks_it(tmp_path: Path, lock: str) -> None:
    plant(tmp_path, {"pyproject.toml": PYPROJECT, lock: UV_LOCK if lock == "uv.lock" else ""})
    assert findings(tmp_path, "HM101") == set()


def test_hash_pinned_requirements_lock_a_pyproject_but_unhashed_ones_do_not(
    tmp_path: Path,
) -> None:
    plant(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "requirements/prod.txt": f"numpy==2.4.6 {HASH}\n",
            "tool/pyproject.toml": PYPROJECT,
            "tool/requirements.txt": "numpy==2.4.6\n",
        },
    )
    expected_line = line_of(PYPROJECT, "dependencies = [")
    assert findings(tmp_path, "HM101") == {("HM101", "tool/pyproject.toml", expected_line)}


def test_a_lock_in_another_folder_does_not_lock_a_project_unless_it_is_a_member(
    tmp_path: Path,
) -> None:
    member_lock = UV_LOCK + '\n[[package]]\nname = "member"\nversion = "1.0"\n'
    member_lock += 'source = { editable = "packages/member" }\n'
    plant(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "uv.lock": member_lock,
            "packages/member/pyproject.toml": PYPROJECT,
            "other/pyproject.toml": PYPROJECT,
        },
    )
    expected_line = line_of(PYPROJECT, "dependencies = [")
    assert findings(tmp_path, "HM101") == {("HM101", "other/pyproject.toml", expected_line)}


def test_a_lock_git_ignores_does_not_count(tmp_path: Path) -> None:
    plant(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": UV_LOCK, ".gitignore": "uv.lock\n"})
    commit_all(tmp_path)
    [finding] = [f for f in check(load_repository(tmp_path)) if f.rule_id == "HM101"]
    assert (finding.path, finding.line) == ("pyproject.toml", line_of(PYPROJECT, "dependencies"))
    assert "uv.lock exists but git ignores it" in finding.message


@pytest.mark.parametrize(
    ("pyproject", "needle"),
    [
        ('[dependency-groups]\ndocs = ["mkdocs==1.6.1"]\n', "docs ="),
        ('[tool.uv]\ndev-dependencies = ["pytest==9.2.0"]\n', "dev-dependencies"),
        ('[tool.poetry.dependencies]\npython = "^3.11"\nnumpy = "^2.0"\n', "[tool.poetry.dep"),
        ('[tool.poetry.group.dev.dependencies]\npytest = "9.2.0"\n', "[tool.poetry.group"),
    ],
)
def test_every_kind_of_dependency_list_needs_a_lock(
    tmp_path: Path, pyproject: str, needle: str
) -> None:
    plant(tmp_path, {"pyproject.toml": pyproject})
    assert findings(tmp_path) == {("HM101", "pyproject.toml", line_of(pyproject, needle))}


@pytest.mark.parametrize(
    "pyproject",
    [
        '[project]\nname = "tool"\ndependencies = []\n',
        '[tool.poetry.dependencies]\npython = "^3.11"\n',
        '[build-system]\nrequires = ["hatchling"]\n[tool.ruff]\nline-length = 100\n',
        "not = [valid toml",
    ],
)
def test_a_pyproject_without_dependencies_needs_no_lock(tmp_path: Path, pyproject: str) -> None:
    plant(tmp_path, {"pyproject.toml": pyproject})
    assert findings(tmp_path) == set()


def test_a_pipfile_needs_its_pipfile_lock(tmp_path: Path) -> None:
    pipfile = '[[source]]\nurl = "https://pypi.org/simple"\n\n[packages]\nnumpy = "==2.4.6"\n'
    plant(tmp_path, {"Pipfile": pipfile, "locked/Pipfile": pipfile, "locked/Pipfile.lock": "{}"})
    assert findings(tmp_path) == {("HM101", "Pipfile", line_of(pipfile, "[packages]"))}


# HM102: requirements without hashes.


def test_a_requirements_file_without_hashes_is_reported_once_at_its_first_requirement(
    tmp_path: Path,
) -> None:
    requirements = "# pinned by hand\n\nnumpy==2.4.6\npandas==3.1.1\n"
    plant(tmp_path, {"requirements.txt": requirements})
    [finding] = [f for f in check(load_repository(tmp_path)) if f.rule_id == "HM102"]
    assert (finding.path, finding.line) == ("requirements.txt", 3)
    assert finding.message.startswith("2 of 2 requirements carry no --hash")


def test_one_requirement_without_a_hash_among_hashed_ones_is_found(tmp_path: Path) -> None:
    requirements = f"numpy==2.4.6 \\\n    {HASH}\n    # via demo\npandas==3.1.1\n"
    plant(tmp_path, {"requirements-dev.txt": requirements})
    assert findings(tmp_path) == {("HM102", "requirements-dev.txt", 4)}


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("requirements.txt", f"numpy==2.4.6 \\\n    {HASH} \\\n    {HASH}\n"),
        ("requirements.txt", f"-e .\n-e git+https://github.com/o/r@{SHA}#egg=r\n./vendor/pkg\n"),
        ("constraints.txt", "numpy==2.4.6\n"),
        ("requirements.in", "numpy>=2\n"),
        ("docs/notes.txt", "numpy>=2\n"),
    ],
    ids=["hashed", "unhashable-installs", "constraints", "compile-input", "not-requirements"],
)
def test_hashed_unhashable_or_other_files_need_no_hashes(
    tmp_path: Path, path: str, content: str
) -> None:
    plant(tmp_path, {path: content})
    assert findings(tmp_path) == set()


# HM103: a stale uv.lock.


def test_a_lock_that_matches_is_fresh_despite_uv_rewriting_it(tmp_path: Path) -> None:
    plant(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": UV_LOCK})
    assert findings(tmp_path) == set()


@pytest.mark.parametrize(
    ("before", "after", "needle"),
    [
        ('"numpy==2.4.6",', '"numpy==2.5.0",', '"numpy==2.5.0"'),  # a pin moved
        ('"numpy==2.4.6",', '"numpy==2.4.6",\n    "torch==2.10.0",', '"torch'),  # added
        ('"pandas[pyarrow]>=3.0,<4",', '"pandas[pyarrow,excel]>=3.0,<4",', "pandas"),  # extras
        ('"numpy==2.4.6",\n', "", "dependencies = ["),  # dropped: reported at the list
        ('"ruff==0.17.6",', '"ruff==0.18.0",', '"ruff'),  # a dependency group
        ('test = ["pytest==9.2.0"]', 'test = ["pytest==9.3.0"]', "test ="),  # an included group
    ],
    ids=["moved", "added", "extras", "dropped", "group", "included-group"],
)
def test_a_lock_behind_its_pyproject_is_stale_at_the_first_difference(
    tmp_path: Path, before: str, after: str, needle: str
) -> None:
    pyproject = PYPROJECT.replace(before, after)
    plant(tmp_path, {"pyproject.toml": pyproject, "uv.lock": UV_LOCK})
    assert findings(tmp_path) == {("HM103", "pyproject.toml", line_of(pyproject, needle))}


def test_the_stale_message_says_what_the_lock_records(tmp_path: Path) -> None:
    plant(tmp_path, {"pyproject.toml": PYPROJECT.replace("2.4.6", "2.5.0"), "uv.lock": UV_LOCK})
    [finding] = check(load_repository(tmp_path))
    assert finding.message == (
        "uv.lock is stale in [project] dependencies: 'numpy==2.5.0' is declared but the lock"
        " records 'numpy==2.4.6' (1 requirement differs)"
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('"numpy==2.4.6",', '"NumPy == v2.4.6",'),  # name case, spacing, version normal form
        ('"pandas[pyarrow]>=3.0,<4",', '"Pandas[PyArrow] < 4 , >= 3.0",'),  # clause order
        ("sys_platform != 'win32'", "platform_system != 'Windows'"),  # markers: not compared
    ],
    ids=["normal-form", "clause-order", "markers"],
)
def test_differences_uv_would_not_relock_for_are_not_stale(
    tmp_path: Path, before: str, after: str
) -> None:
    plant(tmp_path, {"pyproject.toml": PYPROJECT.replace(before, after), "uv.lock": UV_LOCK})
    assert findings(tmp_path) == set()


def test_a_git_source_is_compared_by_name_because_uv_keeps_no_specifier(tmp_path: Path) -> None:
    pyproject = (
        PYPROJECT + f'\n[tool.uv.sources]\nnumpy = {{ git = "https://g/numpy", rev = "{SHA}" }}\n'
    )
    lock = UV_LOCK.replace(
        '{ name = "numpy", specifier = "==2.4.6" }',
        f'{{ name = "numpy", git = "https://g/numpy?rev={SHA}" }}',
    )
    plant(tmp_path, {"pyproject.toml": pyproject, "uv.lock": lock})
    assert findings(tmp_path) == set()


CPU_ENTRY = (
    """{ name = "numpy", marker = "sys_platform != 'linux'", specifier = "==2.4.6","""
    """ index = "https://i/cpu" }"""
)


@pytest.mark.parametrize(
    ("linux_source", "linux_entry"),
    [
        ('index = "cu124"', 'specifier = "==2.4.6", index = "https://i/cu124"'),
        ('url = "https://w/numpy.whl"', 'url = "https://w/numpy.whl"'),
    ],
    ids=["two-indexes", "index-and-url"],
)
def test_sources_split_by_marker_are_one_requirement(
    tmp_path: Path, linux_source: str, linux_entry: str
) -> None:
    """uv records one entry per source: an index keeps the specifier, a URL drops it."""
    pyproject = PYPROJECT + dedent(
        f"""
        [tool.uv.sources]
        numpy = [
            {{ {linux_source}, marker = "sys_platform == 'linux'" }},
            {{ index = "cpu", marker = "sys_platform != 'linux'" }},
        ]
        """
    )
    linux_entry = f"""{{ name = "numpy", marker = "sys_platform == 'linux'", {linux_entry} }}"""
    lock = UV_LOCK.replace(
        '{ name = "numpy", specifier = "==2.4.6" },', f"{linux_entry},\n    {CPU_ENTRY},"
    )
    plant(tmp_path, {"pyproject.toml": pyproject, "uv.lock": lock})
    assert findings(tmp_path) == set()


def test_a_workspace_member_is_compared_with_its_own_entry(tmp_path: Path) -> None:
    member = PYPROJECT.replace('name = "demo"', 'name = "member"').replace("2.4.6", "2.5.0")
    member_entry = UV_LOCK.split("[[package]]")[1].replace('"demo"', '"member"')
    member_entry = member_entry.replace('editable = "."', 'editable = "packages/member"')
    lock = f"{UV_LOCK}\n[[package]]{member_entry}"
    plant(
        tmp_path,
        {"pyproject.toml": PYPROJECT, "uv.lock": lock, "packages/member/pyproject.toml": member},
    )
    expected = ("HM103", "packages/member/pyproject.toml", line_of(member, '"numpy'))
    assert findings(tmp_path) == {expected}


def test_a_lock_without_metadata_is_not_compared(tmp_path: Path) -> None:
    lock = UV_LOCK.split("[package.metadata]")[0]  # uv can lock without it
    plant(tmp_path, {"pyproject.toml": PYPROJECT.replace("2.4.6", "2.5.0"), "uv.lock": lock})
    assert findings(tmp_path) == set()


def test_dynamic_dependencies_are_not_compared(tmp_path: Path) -> None:
    declared = PYPROJECT[PYPROJECT.index("dependencies = [") : PYPROJECT.index("]") + 2]
    pyproject = PYPROJECT.replace(declared, 'dynamic = ["dependencies"]\n')
    plant(tmp_path, {"pyproject.toml": pyproject, "uv.lock": UV_LOCK})
    assert findings(tmp_path) == set()


# HM104: ranges in requirements files.


@pytest.mark.parametrize(
    ("line", "ranged"),
    [
        ("numpy>=2.0", True),
        ("numpy", True),
        ("numpy~=2.4", True),
        ("numpy==2.*", True),
        ("numpy!=2.0.0", True),
        ("numpy<3", True),
        ("pandas[pyarrow] >= 3.0 ; python_version < '3.12'", True),
        ("numpy (>=2.0)", True),
        ("numpy==2.4.6", False),
        ("numpy===2.4.6", False),
        ("numpy==2.4.6,<3", False),
        ("pandas[pyarrow,excel]==3.1.1; python_version < '3.12'", False),
        ("Pandas == 3.1.1  # comment after two spaces", False),
        ("-e .", False),
        ("./vendor/pkg", False),
        ("numpy-2.4.6-cp311-cp311-manylinux_2_17_x86_64.whl", False),
        ("https://example.com/numpy-2.4.6.tar.gz", False),
        ("demo @ https://example.com/demo-1.0-py3-none-any.whl", False),
        ("-r other.txt", False),
        ("--index-url https://pypi.org/simple", False),
        ("# numpy>=2", False),
    ],
)
def test_only_requirements_without_an_exact_pin_are_ranges(
    tmp_path: Path, line: str, ranged: bool
) -> None:
    plant(tmp_path, {"requirements.txt": f"# header\n{line}\n"})
    expected = {("HM104", "requirements.txt", 2)} if ranged else set()
    assert findings(tmp_path, "HM104") == expected


def test_a_continued_range_is_reported_at_its_first_line(tmp_path: Path) -> None:
    plant(
        tmp_path, {"requirements.txt": "numpy==2.4.6\nnumpy \\\n  >=2.0 \\\n  ; os_name == 'nt'\n"}
    )
    assert findings(tmp_path, "HM104") == {("HM104", "requirements.txt", 2)}


def test_a_constraints_file_can_pin_what_requirements_leave_open(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "requirements/base.txt": "-c ../constraints/pins.txt\nnumpy\npandas>=3\n",
            "constraints/pins.txt": "numpy==2.4.6\npandas>=3,<4\n",
        },
    )
    assert findings(tmp_path, "HM104") == {("HM104", "requirements/base.txt", 3)}


def test_an_included_file_is_audited_whatever_its_name(tmp_path: Path) -> None:
    plant(tmp_path, {"requirements.txt": "-r base.in.txt\n", "base.in.txt": "x\nnumpy>=2\n"})
    found = findings(tmp_path, "HM104")
    assert found == {("HM104", "base.in.txt", 1), ("HM104", "base.in.txt", 2)}


# HM105: VCS dependencies without a commit.


@pytest.mark.parametrize(
    ("url", "floating"),
    [
        ("git+https://github.com/org/repo@main", True),
        ("git+https://github.com/org/repo.git", True),
        ("git+https://github.com/org/repo@v1.2.0#egg=repo", True),
        ("git+https://github.com/org/repo@0123abc", True),
        ("git+ssh://git@github.com/org/repo.git", True),
        ("hg+https://hg.example.com/repo@default", True),
        (f"git+https://github.com/org/repo@{SHA}", False),
        (f"git+ssh://git@github.com/org/repo.git@{SHA}#subdirectory=python", False),
        (f"git+https://token@github.com/org/repo@{SHA.upper()}", False),
        ("https://github.com/org/repo/archive/main.zip", False),
    ],
)
def test_vcs_urls_are_pinned_only_by_a_full_commit(url: str, floating: bool) -> None:
    assert (floating_vcs_reason(url) is not None) == floating


@pytest.mark.parametrize(
    "line",
    [
        "git+https://github.com/org/repo@main#egg=repo",
        "-e git+https://github.com/org/repo@v1#egg=repo",
        "--editable=git+https://github.com/org/repo",
        "repo[extra] @ git+https://github.com/org/repo@main ; python_version < '3.12'",
    ],
)
def test_a_floating_vcs_line_in_requirements_is_reported(tmp_path: Path, line: str) -> None:
    plant(tmp_path, {"requirements.txt": f"numpy==2.4.6 {HASH}\n{line}\n"})
    assert findings(tmp_path) == {("HM105", "requirements.txt", 2)}


def test_floating_vcs_dependencies_in_pyproject_are_reported_where_declared(
    tmp_path: Path,
) -> None:
    pyproject = dedent(
        f"""\
        [project]
        name = "demo"
        dependencies = [
            "clip @ git+https://github.com/openai/CLIP.git@main",
            "pinned @ git+https://github.com/org/pinned@{SHA}",
            "sam",
            "tagged",
            "exact",
            "default",
        ]

        [tool.uv.sources]
        sam = {{ git = "https://github.com/org/sam", branch = "main" }}
        tagged = {{ git = "https://github.com/org/tagged", tag = "v1.0" }}
        exact = {{ git = "https://github.com/org/exact", rev = "{SHA}" }}

        [tool.uv.sources.default]
        git = "https://github.com/org/default"
        """
    )
    plant(tmp_path, {"pyproject.toml": pyproject, "uv.lock": ""})
    assert findings(tmp_path) == {
        ("HM105", "pyproject.toml", line_of(pyproject, "CLIP")),
        ("HM105", "pyproject.toml", line_of(pyproject, "sam = {")),
        ("HM105", "pyproject.toml", line_of(pyproject, "tagged = {")),
        ("HM105", "pyproject.toml", line_of(pyproject, "[tool.uv.sources.default]")),
    }


# HM106 and HM107: pre-releases asked for, and pre-releases a resolver locked.


@pytest.mark.parametrize(
    ("version", "pre"),
    [
        ("2.5.0.dev20240101", True),
        ("1.0rc1", True),
        ("0.3b2", True),
        ("1.0-alpha.1", True),
        ("2.0.0.post1.dev0", True),
        ("2.5.0+nightly", True),
        ("2.5.0.dev20240101+cu121", True),
        ("2.4.6", False),
        ("2.5.0+cu121", False),
        ("1.0.post1", False),
        ("2.*", False),
    ],
)
def test_pre_releases_are_pep_440_pre_and_dev_releases_and_nightlies(
    version: str, pre: bool
) -> None:
    assert is_pre_release(version) == pre


@pytest.mark.parametrize(
    "line",
    [
        "torch==2.5.0.dev20240101",
        "transformers>=5.0.0rc1; python_version >= '3.11'",
        "--pre",
        "--extra-index-url https://download.pytorch.org/whl/nightly/cu121",
        "-f https://download.pytorch.org/whl/nightly/torch_nightly.html",
    ],
)
def test_a_pre_release_asked_for_in_requirements_is_reported(tmp_path: Path, line: str) -> None:
    plant(tmp_path, {"requirements.txt": f"# header\n{line}\n"})
    assert findings(tmp_path, "HM106") == {("HM106", "requirements.txt", 2)}


@pytest.mark.parametrize(
    "line",
    [
        "torch==2.5.1",
        "numpy<2.0a0",
        "numpy!=2.0.0rc1",
        "--index-url https://download.pytorch.org/whl/cu121",
    ],
)
def test_stable_versions_and_bounds_are_not_pre_releases(tmp_path: Path, line: str) -> None:
    plant(tmp_path, {"requirements.txt": f"{line}\n"})
    assert findings(tmp_path, "HM106") == set()


def test_pre_releases_asked_for_in_pyproject_are_reported_where_declared(tmp_path: Path) -> None:
    pyproject = dedent(
        """\
        [project]
        name = "demo"
        dependencies = ["torch==2.5.0.dev20240101", "numpy>=2,<3.0a0"]

        [dependency-groups]
        dev = ["pytest>=9.0rc1"]

        [tool.uv]
        prerelease = "allow"

        [[tool.uv.index]]
        name = "pytorch-nightly"
        url = "https://download.pytorch.org/whl/nightly/cu121"
        """
    )
    plant(tmp_path, {"pyproject.toml": pyproject, "uv.lock": ""})
    assert findings(tmp_path) == {
        ("HM106", "pyproject.toml", line_of(pyproject, "torch==")),
        ("HM106", "pyproject.toml", line_of(pyproject, "pytest")),
        ("HM106", "pyproject.toml", line_of(pyproject, "prerelease")),
        ("HM106", "pyproject.toml", line_of(pyproject, "nightly/cu121")),
    }


def test_a_locked_pre_release_is_a_note_unless_a_manifest_asked_for_it(tmp_path: Path) -> None:
    torch = "torch==2.5.0.dev20240101"
    pyproject = PYPROJECT.replace('"numpy==2.4.6",', f'"numpy==2.4.6",\n    "{torch}",')
    lock = UV_LOCK.replace('version = "0.1.0"', 'version = "0.1.0.dev0"')  # the project itself
    lock = lock.replace(
        '{ name = "numpy", specifier = "==2.4.6" },',
        '{ name = "numpy", specifier = "==2.4.6" },\n'
        '    { name = "torch", specifier = "==2.5.0.dev20240101" },',
    )
    lock += dedent(
        """
        [[package]]
        name = "opentelemetry-util-http"
        version = "0.66b1"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "torch"
        version = "2.5.0.dev20240101+cu121"
        source = { registry = "https://download.pytorch.org/whl/nightly/cu121" }
        """
    )
    compiled = f"numpy==2.4.6 {HASH}\nrich==15.0.0b1 \\\n    {HASH}\n{torch} {HASH}\n"
    plant(tmp_path, {"pyproject.toml": pyproject, "uv.lock": lock, "requirements.txt": compiled})
    assert findings(tmp_path) == {
        ("HM106", "pyproject.toml", line_of(pyproject, "torch")),
        ("HM107", "uv.lock", line_of(lock, '"0.66b1"')),
        ("HM107", "requirements.txt", 2),
    }


# Parsing: pip's requirements format and PEP 508.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("numpy==2.4.6", [(1, "", "numpy==2.4.6", False)]),
        ("numpy==2.4.6 \\\n  --hash=sha256:aa", [(1, "", "numpy==2.4.6", True)]),
        ("# c \\\nnumpy", [(2, "", "numpy", False)]),
        ("numpy # pinned later\n\n  # indented comment", [(1, "", "numpy", False)]),
        (
            "-r base.txt\n-cpins.txt",
            [(1, "--requirement", "base.txt", False), (2, "--constraint", "pins.txt", False)],
        ),
        ("--index-url=https://x/simple", [(1, "--index-url", "https://x/simple", False)]),
        ("git+https://h/r@main#egg=r", [(1, "", "git+https://h/r@main#egg=r", False)]),
    ],
    ids=[
        "plain",
        "continued-hash",
        "comment-ending-in-backslash",
        "comments",
        "includes",
        "option-with-equals",
        "url-fragment-is-no-comment",
    ],
)
def test_requirements_lines_are_read_as_pip_reads_them(
    text: str, expected: list[tuple[int, str, str, bool]]
) -> None:
    entries = requirements_entries(text.splitlines())
    assert [(e.line, e.option, e.value, e.hashed) for e in entries] == expected


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        (
            "Foo_Bar[X,y] >= 1.0, <2 ; python_version < '3.12'",
            ("foo-bar", {"x", "y"}, ">= 1.0, <2"),
        ),
        ("foo @ https://x/foo.whl ; os_name == 'nt'", ("foo", set(), "")),
        ("foo (==1.0)", ("foo", set(), "==1.0")),
        ("./local", None),
        ("foo-1.0.tar.gz", None),
        ("foo bar", None),
    ],
)
def test_pep_508_requirements_parse(text: str, parsed: tuple[str, set[str], str] | None) -> None:
    requirement = parse_requirement(text)
    if requirement is None:
        assert parsed is None
    else:
        assert (requirement.name, set(requirement.extras), requirement.specifier) == parsed


# This repository.


def test_this_repository_has_no_dependency_hazard_but_the_betas_bentoml_needs() -> None:
    """pyproject.toml and uv.lock agree; the one note is the benchmark's compiled BentoML
    requirements, whose OpenTelemetry instrumentations only ship as betas. The corpus of real
    repositories that the audit is measured on holds hazards on purpose."""
    found = list(check(load_repository(REPO_ROOT, ["tests/audit/corpus/*"])))
    assert {f.rule_id for f in found} <= {"HM107"}
    assert {f.path for f in found} <= {"benchmarks/model_servers/requirements-bentoml.txt"}
    assert all(f.message.startswith("opentelemetry-") for f in found)
