"""HM304 and HM305 judge what a file is from what makes it run: a script under src/ is no package
module, and a training module is an entrypoint only with a `__main__` block, a CLI command, a
console script or training at module level, never because of its name."""

from __future__ import annotations

from pathlib import Path
from textwrap import indent

import pytest

from tests.audit.test_python_code_rules import assert_clean, assert_exactly_planted

TRAIN_STEP = "for batch in batches:\n    loss = model(batch).sum()\n    loss.backward()\n"
TRAINING_FUNCTION = "def fit(model, batches):\n" + indent(TRAIN_STEP, "    ")


@pytest.mark.parametrize(
    "script",
    [
        "from huggingface_hub import snapshot_download\n\n"
        "path = snapshot_download(repo_id='org/model', revision='" + "a" * 40 + "')\n"
        "print(f'downloaded to {path}')\n",
        "import sys\n\nfor name in sys.argv[1:]:\n    print(name)\n",
        "import argparse\n\nparser = argparse.ArgumentParser()\nargs = parser.parse_args()\n\n\n"
        "def show():\n    print(args)\n",
        "import json\n\nwith open('x.json') as handle:\n    print(json.load(handle))\n",
    ],
)
def test_scripts_under_src_outside_a_package_may_print(tmp_path: Path, script: str) -> None:
    assert_clean(tmp_path, {"src/download_weights.py": script, "src/pkg/__init__.py": ""})


def test_library_modules_under_src_and_package_scripts_still_count(tmp_path: Path) -> None:
    files = {
        "src/helpers.py": """
            import logging

            LOGGER = logging.getLogger(__name__)


            def show(value):
                print(value)  # expect: HM304
            """,
        "src/pkg/__init__.py": "",
        "src/pkg/report.py": """
            import sys

            for name in sys.argv:
                print(name)  # expect: HM304
            """,
    }
    assert_exactly_planted(tmp_path, files)


def test_training_entrypoints_known_by_how_they_run(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": (
            '[project]\nname = "demo"\nversion = "1"\n\n'
            '[project.scripts]\ndemo-train = "demo.learn:main"\n'
            "\n[tool.poetry.scripts]\n"
            'demo-tune = { reference = "demo.tune:run", type = "console" }\n'
        ),
        "setup.cfg": "[options.entry_points]\nconsole_scripts =\n    fit = demo.fitting:go\n",
        "setup.py": "from setuptools import setup\n\nsetup(entry_points={'console_scripts': "
        "['other = demo.other:start']})\n",
        "src/demo/__init__.py": "",
        "src/demo/learn.py": """
            import torch


            def main():  # expect: HM305
                optimizer.step()
            """,
        "src/demo/tune.py": "\n\ndef run():  # expect: HM305\n    loss.backward()\n",
        "src/demo/fitting.py": "def go():  # expect: HM305\n    loss.backward()\n",
        "src/demo/other.py": "import torch  # expect: HM305\n\nloss.backward()\n\n\ndef helper():\n"
        "    return None\n",
        "cli.py": """
            import typer

            app = typer.Typer()


            @app.command()
            def train(epochs: int = 1):  # expect: HM305
                for _ in range(epochs):
                    loss.backward()
            """,
        "sweep.py": "import fire\n\n\n"
        + TRAINING_FUNCTION
        + "\n\nfire.Fire(fit)  # expect: HM305\n",
        "conf_run.py": """
            import hydra


            @hydra.main(config_path="conf")
            def run(cfg):  # expect: HM305
                optimizer.step()
            """,
    }
    assert_exactly_planted(tmp_path, files)


def test_training_libraries_named_like_scripts_are_not_entrypoints(tmp_path: Path) -> None:
    """The FSDP example's `utils/train_utils.py`: training functions that a script imports."""
    files = {
        "distributed/FSDP/utils/__init__.py": "",
        "distributed/FSDP/utils/train_utils.py": "import torch\n\n\n" + TRAINING_FUNCTION,
        "train_model.py": "import torch\n\n\n" + TRAINING_FUNCTION,
        "pyproject.toml": '[project.scripts]\nother = "elsewhere.module:main"\n',
    }
    assert_clean(tmp_path, files)
