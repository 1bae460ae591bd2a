"""HM204: a Dockerfile RUN installing Python packages without an exact version."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermetic.audit.rules import images
from tests.audit.planting import audit, places

UNPINNED = "HM204"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def unpinned_words(tmp_path: Path, run: str) -> list[str]:
    """The requirements named by HM204's findings for a Dockerfile whose one RUN is RUN."""
    findings = audit(images.check, tmp_path, {"Dockerfile": f"RUN {run}\n"})
    return [
        word
        for finding in findings
        if finding.rule_id == UNPINNED
        for word in finding.message.split(" install ", 1)[1].split(": ")[0].split(", ")
    ]


@pytest.mark.parametrize(
    ("run", "unpinned"),
    [
        ("pip install numpy", ["numpy"]),
        ("pip3 install numpy pandas==2.2.2 'scipy>=1.11'", ["numpy", "scipy>=1.11"]),
        ("python -m pip install --no-cache-dir torch", ["torch"]),
        ("python3.11 -m pip install -U 'fastapi[all]'", ["fastapi[all]"]),
        ("/opt/venv/bin/pip install --user httpx", ["httpx"]),
        ("uv pip install --system --python 3.11.8 httpx", ["httpx"]),
        ("pip install pkg~=1.2 'pkg2==1.*'", ["pkg~=1.2", "pkg2==1.*"]),
        ("pip install pkg>=1", ["pkg"]),  # unquoted, the shell reads `>=1` as a redirection
        ("pip install 'uvicorn[standard]==0.29.0' 'attrs===23.2.0'", []),
        ("pip install 'numpy==1.26.4; python_version < \"3.12\"'", []),
        # Requirements files are the dependency rules'; constraints decide versions elsewhere.
        ("pip install -r requirements.txt", []),
        ("pip install --requirement=requirements.txt -r dev.txt", []),
        ("pip install -r requirements.txt gunicorn", ["gunicorn"]),
        ("pip install -c constraints.txt numpy", []),
        ("pip install --constraint=constraints.txt numpy", []),
        ("pip install --no-index --find-links /wheels app", []),
        # The packaging tools are packages too (the corpus's convention, and hadolint's).
        ("pip install --upgrade pip", ["pip"]),
        ("python -m pip install -U pip setuptools 'wheel==0.43.0'", ["pip", "setuptools"]),
        # Local paths, files and URLs name one thing; a VCS URL needs a commit.
        ("pip install .", []),
        ("pip install -e .", []),
        ("pip install -e detectron2_repo", []),
        ("pip install --editable=./lib ./other /src/pkg", []),
        ("pip install dist/app-1.0-py3-none-any.whl app-1.0.tar.gz", []),
        ("pip install https://example.com/pkg-1.0.tar.gz", []),
        ("pip install git+https://github.com/org/repo", ["git+https://github.com/org/repo"]),
        (
            "pip install 'git+https://github.com/org/repo@v1.2#egg=repo'",
            ["git+https://github.com/org/repo@v1.2#egg=repo"],
        ),
        (f"pip install git+https://github.com/org/repo@{COMMIT}", []),
        (f"pip install -e git+https://github.com/org/repo@{COMMIT}#egg=repo", []),
        (
            "pip install -e git+https://github.com/org/repo#egg=repo",
            ["git+https://github.com/org/repo#egg=repo"],
        ),
        # Option values are not packages.
        ("pip install --index-url https://download.pytorch.org/whl/cpu torch==2.3.1", []),
        ("pip install --extra-index-url https://mirror.example/simple torch", ["torch"]),
        ("pip install --root-user-action ignore --progress-bar off numpy==1.26.4", []),
        ("pip install -t /opt/lib -i https://mirror.example/simple numpy==1.26.4", []),
        ("pip --no-cache-dir install -qU numpy", ["numpy"]),
        # Variables: unknown, unless the operator already shows a range.
        ("pip install torch==${TORCH_VERSION} $PACKAGES", []),
        ('pip install "torch>=${MINIMUM}"', ["torch>=${MINIMUM}"]),
        # Wherever the RUN runs it.
        ("apt-get install -y python3-pip && pip install numpy || true", ["numpy"]),
        ("sudo -H pip install numpy; echo done", ["numpy"]),
        ("PIP_NO_CACHE_DIR=1 env X=1 pip install numpy", ["numpy"]),
        ("pip install numpy==1.26.4 2>&1 | tee /tmp/pip.log", []),
        ("pip install --no-cache-dir numpy  # the newest, on purpose", ["numpy"]),
        ('["pip", "install", "numpy"]', ["numpy"]),
        ('["/bin/sh", "-c", "pip install numpy"]', ["numpy"]),
        ("bash -ec 'pip install numpy && pip install pandas==2.2.2'", ["numpy"]),
        # Not installing, or not pip.
        ("pip download numpy && pip wheel numpy && pipx install ruff", []),
        ("conda install numpy && uv sync --locked", []),
        ("echo pip install numpy", []),
    ],
)
def test_what_pip_install_leaves_unpinned(tmp_path: Path, run: str, unpinned: list[str]) -> None:
    assert unpinned_words(tmp_path, run) == unpinned


def test_the_finding_is_on_the_line_of_the_package(tmp_path: Path) -> None:
    dockerfile = """
        FROM python:3.11.8-slim
        RUN apt-get update \\
            && pip install --no-cache-dir \\
                numpy==1.26.4 \\
                # a comment inside the instruction
                pandas \\
            && rm -rf /root/.cache
        RUN <<EOF
        set -e
        pip install scipy
        EOF
        RUN python3 <<EOF
        import subprocess
        pip install not-a-shell-line
        EOF
        RUN --mount=type=cache,target=/root/.cache pip install "torch>=2" \\
            && pip install -r requirements.txt
        RUN <<-EOF bash
        \tpip install --upgrade pip
        \tpip install \\
        \t  httpx
        EOF
        """
    findings = audit(images.check, tmp_path, {"docker/Dockerfile.gpu": dockerfile})
    assert places([f for f in findings if f.rule_id == UNPINNED]) == {
        (UNPINNED, "docker/Dockerfile.gpu", 6),
        (UNPINNED, "docker/Dockerfile.gpu", 10),
        (UNPINNED, "docker/Dockerfile.gpu", 16),
        (UNPINNED, "docker/Dockerfile.gpu", 19),
        (UNPINNED, "docker/Dockerfile.gpu", 21),
    }


def test_the_message_lists_what_is_unpinned_and_why(tmp_path: Path) -> None:
    run = "RUN pip install numpy 'pandas>=2' git+https://github.com/org/repo@main\n"
    [finding] = audit(images.check, tmp_path, {"Dockerfile": run})
    assert finding.message == (
        "pip install numpy, pandas>=2, git+https://github.com/org/repo@main: no exact version "
        "(==) or commit hash, so a rebuild can install another"
    )


def test_template_markup_and_global_constraints_leave_nothing_to_judge(tmp_path: Path) -> None:
    files = {
        # The template's dev container: the markup is a value, not a package.
        ".devcontainer/Dockerfile.jinja": (
            "RUN uv pip install --no-cache --require-hashes --no-deps --python {{ python_patch }} "
            "--target /opt/uv \\\n    --requirement /tmp/uv-requirements.txt\n"
            "RUN pip install {{ packages | join(' ') }}\n"
        ),
        "constrained/Dockerfile": "ENV PIP_CONSTRAINT=/constraints.txt\nRUN pip install numpy\n",
    }
    assert [f for f in audit(images.check, tmp_path, files) if f.rule_id == UNPINNED] == []
