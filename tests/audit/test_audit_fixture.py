"""One repository with every hazard planted once: each is reported once, at its file and line,
by exactly one rule, and every rule of the audit is exercised."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermetic.audit.engine import ALL_RULES
from tests.audit.planting import commit_all, found, plant

MIB = 1024 * 1024
PYPI = 'source = { registry = "https://pypi.org/simple" }'
HAZARDS: dict[str, str | bytes] = {
    # HM101: dependencies with no lock beside them.
    "services/api/pyproject.toml": (
        '[project]\nname = "api"\nversion = "1.0"\ndependencies = ["fastapi==0.136.0"]\n'
    ),
    # HM102 (line 1, no hash), HM104 (line 2, a range), HM105 (line 3, a branch),
    # HM106 (line 4, a nightly index).
    "requirements.txt": (
        "numpy==2.4.6\n"
        "pandas>=3.0\n"
        "lib @ git+https://example.invalid/lib.git@main\n"
        "--extra-index-url https://download.pytorch.org/whl/nightly/cu128\n"
    ),
    # HM103: the lock records numpy 2.4.5, pyproject declares 2.4.6 (line 5).
    "pyproject.toml": (
        '[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = [\n    "numpy==2.4.6",\n]\n'
    ),
    "uv.lock": (
        'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n'
        '[[package]]\nname = "demo"\nversion = "0.1.0"\nsource = { editable = "." }\n'
        'dependencies = [{ name = "numpy" }]\n\n'
        '[package.metadata]\nrequires-dist = [{ name = "numpy", specifier = "==2.4.5" }]\n\n'
        f'[[package]]\nname = "numpy"\nversion = "2.4.5"\n{PYPI}\n\n'
        # HM107: a pre-release nothing asked for (line 21).
        f'[[package]]\nname = "tzdata"\nversion = "2026.1rc1"\n{PYPI}\n'
    ),
    # HM201 + HM202 (line 1: no digest, floating tag), HM201 only (line 2: full release).
    "Dockerfile": "FROM python:3.9\nFROM python:3.11.8-slim\nRUN pip install numpy\n",
    "src/shop/hub.py": (
        "import yaml\nfrom transformers import AutoModel\n\n"
        'model = AutoModel.from_pretrained("org/model", trust_remote_code=True)\n'
        'config = yaml.load(open("config.yaml"), Loader=yaml.FullLoader)\n'
    ),
    # HM203: a feature by tag (line 3).
    ".devcontainer/devcontainer.json": (
        '{\n  "image": "mcr.microsoft.com/devcontainers/python:1-3.11@sha256:' + "a" * 64 + '",\n'
        '  "features": {"ghcr.io/devcontainers/features/node:1": {}}\n}\n'
    ),
    # HM301 (line 7), HM302 (line 8), HM303 (line 11), HM304 (line 16).
    "src/shop/__init__.py": "",
    "src/shop/model_io.py": (
        '"""Loading and serving."""\n\n'
        "import pickle\n\n"
        "import torch\n\n"
        "state = pickle.load(open('state.pkl', 'rb'))\n"
        "weights = torch.load('model.pt')\n\n\n"
        "def predict(model, rows):\n"
        "    model.eval()\n"
        "    return model(rows)\n\n\n"
        "def report(value):\n"
        "    print(value)\n"
    ),
    # HM305: a training entrypoint that never seeds (reported at its __main__ block, line 10).
    "train.py": (
        "import torch\n\n\n"
        "def train(model, batches, optimizer):\n"
        "    for batch in batches:\n"
        "        loss = model(batch).sum()\n"
        "        loss.backward()\n"
        "        optimizer.step()\n\n"
        'if __name__ == "__main__":\n'
        "    train(torch.nn.Linear(2, 1), [], None)\n"
    ),
    # HM401 + HM402: a Deployment's container with neither resources nor probes (line 9).
    "deploy/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: api\n"
        "          image: registry.example/api:1.2.3@sha256:" + "b" * 64 + "\n"
    ),
    # HM501: a notebook. HM502: 2 MiB of Parquet committed to git.
    "explore.ipynb": "{}\n",
    "data/train.parquet": b"\1" * (2 * MIB),
    # HM001: a suppression with no reason.
    "src/shop/notes.py": "VALUE = 1  # hermetic: ignore[HM304]\n",
}
EXPECTED = {
    ("HM001", "src/shop/notes.py", 1),
    ("HM101", "services/api/pyproject.toml", 4),
    ("HM102", "requirements.txt", 1),
    ("HM104", "requirements.txt", 2),
    ("HM105", "requirements.txt", 3),
    ("HM106", "requirements.txt", 4),
    ("HM103", "pyproject.toml", 5),
    ("HM107", "uv.lock", 21),
    ("HM201", "Dockerfile", 1),
    ("HM202", "Dockerfile", 1),
    ("HM201", "Dockerfile", 2),
    ("HM204", "Dockerfile", 3),
    ("HM306", "src/shop/hub.py", 4),
    ("HM307", "src/shop/hub.py", 4),
    ("HM308", "src/shop/hub.py", 5),
    ("HM203", ".devcontainer/devcontainer.json", 3),
    ("HM301", "src/shop/model_io.py", 7),
    ("HM302", "src/shop/model_io.py", 8),
    ("HM303", "src/shop/model_io.py", 11),
    ("HM304", "src/shop/model_io.py", 17),
    ("HM305", "train.py", 10),
    ("HM401", "deploy/deployment.yaml", 9),
    ("HM402", "deploy/deployment.yaml", 9),
    ("HM501", "explore.ipynb", 1),
    ("HM502", "data/train.parquet", 1),
}


@pytest.fixture(scope="module")
def hazards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return commit_all(plant(tmp_path_factory.mktemp("hazards"), HAZARDS))


def test_every_planted_hazard_is_reported_once_at_its_file_and_line(hazards: Path) -> None:
    assert found(hazards) == EXPECTED


def test_the_fixture_exercises_every_rule() -> None:
    assert {rule for rule, _, _ in EXPECTED} == {rule.id for rule in ALL_RULES}
