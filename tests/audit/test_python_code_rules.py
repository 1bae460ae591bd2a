"""The Python code rules (HM301-HM305) on small planted repositories; HM306-HM308 and the
resolution of names through imports and wrappers have their own test_python_*.py files, which
share the helpers here.

Each planted hazard carries an `# expect: HM3xx` comment on the line it must be reported at;
the tests compare the exact, ordered list of (rule, path, line) with those markers, so a
hazard reported twice, on another line or in another file fails as surely as a missed one.
"""

from __future__ import annotations

import re
from pathlib import Path
from textwrap import dedent, indent

import pytest

from hermetic.audit.config import read_config
from hermetic.audit.repository import load_repository
from hermetic.audit.rules.python_code import RULES, check
from tests.audit.planting import audit, places
from tests.helpers import REPO_ROOT

EXPECT = re.compile(r"# expect: (HM\d{3})")
Located = tuple[str, str, int]


def reported(root: Path, files: dict[str, str]) -> list[Located]:
    """Plant FILES (dedented) under ROOT, outside git, and list what the family reports."""
    return sorted(places(audit(check, root, files)))


def expected(files: dict[str, str]) -> list[Located]:
    """The (rule, path, line) of every `# expect:` marker in the planted files."""
    return sorted(
        (match.group(1), path, number)
        for path, text in files.items()
        for number, line in enumerate(dedent(text).lstrip("\n").splitlines(), start=1)
        for match in EXPECT.finditer(line)
    )


def assert_exactly_planted(root: Path, files: dict[str, str]) -> None:
    assert expected(files), "a hazard test must plant at least one hazard"
    assert reported(root, files) == expected(files)


def assert_clean(root: Path, files: dict[str, str]) -> None:
    assert reported(root, files) == []


def messages(root: Path, files: dict[str, str]) -> list[str]:
    return [finding.message for finding in sorted(audit(check, root, files))]


def test_rules_are_the_python_family() -> None:
    ids = [rule.id for rule in RULES]
    assert ids == ["HM301", "HM302", "HM303", "HM304", "HM305", "HM306", "HM307", "HM308"]
    assert len({rule.name for rule in RULES}) == len(RULES)


def test_this_repository_is_clean() -> None:
    """As `hermetic audit .` sees it; the audit corpus plants hazards on purpose."""
    exclude = (*read_config(REPO_ROOT).exclude, "tests/audit/corpus/*")
    assert list(check(load_repository(REPO_ROOT, exclude))) == []


# HM301: unsafe deserialisation.


def test_pickle_loads_are_reported_through_every_import_form(tmp_path: Path) -> None:
    loaders = """
        import _pickle
        import cloudpickle
        import dill
        import joblib
        import numpy as np
        import pandas as pd
        import pickle
        import pickle as pk
        from pickle import Unpickler as Reader
        from pickle import loads


        def read(path, blob):
            with open(path, "rb") as handle:
                pickle.load(handle)  # expect: HM301
            pk.loads(blob)  # expect: HM301
            loads(blob)  # expect: HM301
            Reader(handle).load()  # expect: HM301
            _pickle.loads(blob)  # expect: HM301
            dill.loads(blob)  # expect: HM301
            cloudpickle.load(handle)  # expect: HM301
            joblib.load(path)  # expect: HM301
            pd.read_pickle(path)  # expect: HM301
            np.load(path, allow_pickle=True)  # expect: HM301
            return pickle.loads(  # expect: HM301
                blob,
            )


        class Store:
            def restore(self, path):
                from joblib import load as restore_model

                def inner():
                    return restore_model(path)  # expect: HM301

                return inner()
        """
    assert_exactly_planted(tmp_path, {"io/loaders.py": loaders})


def test_safe_loads_and_restricted_unpicklers_are_not_reported(tmp_path: Path) -> None:
    safe = """
        import json
        import pickle

        import numpy as np


        class Restricted(pickle.Unpickler):
            def find_class(self, module, name):
                raise pickle.UnpicklingError(name)


        def load(path):
            return json.loads(path)


        def read(path, handle, store):
            np.load(path)
            np.load(path, allow_pickle=False)
            pickle.dumps({"a": 1})
            store.load(path)
            load(path)
            return Restricted(handle).load()
        """
    assert_clean(tmp_path, {"safe.py": safe})


# HM302: torch.load without weights_only=True.


def test_torch_load_without_literal_weights_only_true_is_reported(tmp_path: Path) -> None:
    restore = """
        import torch
        import torch as T
        from torch import load
        from torch import load as torch_load
        from torch.serialization import load as serialized_load


        def restore(path, options):
            trusted = options.get("trusted")
            torch.load(path)  # expect: HM302
            T.load(path, map_location="cpu")  # expect: HM302
            load(path, weights_only=False)  # expect: HM302
            torch_load(path, weights_only=trusted)  # expect: HM302
            torch.load(path, **options)  # expect: HM302
            serialized_load(path)  # expect: HM302
            torch.load(path, weights_only=True)
            return T.load(path, map_location="cpu", weights_only=True)
        """
    assert_exactly_planted(tmp_path, {"restore.py": restore})


def test_torch_load_message_says_what_is_wrong(tmp_path: Path) -> None:
    restore = """
        import torch
        torch.load("a")
        torch.load("b", weights_only=False)
        torch.load("c", weights_only=trusted)
        torch.load("d", **options)
        """
    found = messages(tmp_path, {"restore.py": restore})
    assert [message.split(",")[0] for message in found] == [
        "`torch.load` has no weights_only=True",
        "`torch.load` sets weights_only=False",
        "`torch.load` sets weights_only=trusted",
        "`torch.load` sets weights_only only through **kwargs",
    ]


# HM303: inference with gradient tracking on.


def test_inference_with_gradients_is_reported_at_the_def(tmp_path: Path) -> None:
    inference = """
        import torch


        def evaluate(model, batches):  # expect: HM303
            model.eval()
            return [model(batch) for batch in batches]


        def check_outputs(net, x):  # expect: HM303
            with torch.no_grad():
                net.eval()
            return net.forward(x)


        def explain(model, x):  # expect: HM303
            model.eval()
            with torch.inference_mode(False):
                return model(x)


        class Predictor:
            def predict(self, features):  # expect: HM303
                return self.model(features)

            async def infer_batch(self, x):  # expect: HM303
                return self.encoder.forward(x)

            def score(self, x):  # expect: HM303
                with torch.no_grad():
                    first = self.model(x)
                return self.model(x) + first


        def make_server(model):
            def serve(request):  # expect: HM303
                return model(request)

            return serve
        """
    assert_exactly_planted(tmp_path, {"inference.py": inference})


def test_message_names_the_function_and_the_call(tmp_path: Path) -> None:
    predictor = """
        import torch

        def predict(model, x):
            y = model.prepare(x)
            return model(y)
        """
    assert messages(tmp_path, {"predictor.py": predictor}) == [
        "`predict` calls `model(...)` (line 5) with gradient tracking on; "
        "wrap it in torch.inference_mode()"
    ]


def test_guarded_training_and_non_inference_functions_are_not_reported(tmp_path: Path) -> None:
    guarded = """
        import torch as T
        import torch.autograd as autograd
        from torch import inference_mode, no_grad


        @T.no_grad()
        def predict(model, x):
            model.eval()
            return model(x)


        @T.inference_mode
        def infer(model, x):
            return model(x)


        class Service:
            @no_grad()
            def score(self, x):
                return self.model(x)

            def serve(self, x):
                with T.autograd.inference_mode(), open("log") as log:
                    return self.network(x)


        def evaluate(model, x):
            model.eval()
            with inference_mode():
                return model(x)


        def evaluate_switched_off(model, x, training):
            T.set_grad_enabled(training)
            model.eval()
            return model(x)


        def validate_inside_training(model, x, optimizer):
            model.eval()
            loss = model(x).sum()
            loss.backward()
            optimizer.step()


        def saliency(model, x):
            model.eval()
            x.requires_grad_()
            return autograd.grad(model(x).sum(), x)


        def load(path):
            model = T.jit.load(path)
            model.eval()
            return model.to("cpu")


        def export(model, example):
            model.eval()
            return T.jit.trace(model, example)


        def call_before_eval(model, x):
            y = model(x)
            model.eval()
            return y


        def evaluate_later(model, x):
            model.eval()

            def run():
                return model.cpu()

            return run


        class Net(T.nn.Module):
            def forward(self, x):
                self.backbone.eval()
                return self.backbone(x)

            def predict_step(self, batch):
                return self.model(batch)

            def train_frozen(self, x):
                self.backbone.eval()
                return self.backbone(x)
        """
    assert_clean(tmp_path, {"guarded.py": guarded})


def test_named_inference_needs_a_torch_import(tmp_path: Path) -> None:
    estimator = """
        import numpy as np


        def predict(model, x):
            return model(np.asarray(x))
        """
    assert_clean(tmp_path, {"estimator.py": estimator})


# HM304: print in package code.


def test_print_in_package_code_is_reported(tmp_path: Path) -> None:
    files = {
        "src/pkg/core.py": """
            import sys


            def report(value, console, handle):
                print(value)  # expect: HM304
                print(value, file=sys.stderr)  # expect: HM304
                print(value, file=handle)
                console.print(value)

                def nested():
                    print(value)  # expect: HM304

                return nested
            """,
        "pkg/__init__.py": "",
        "pkg/module.py": "print('imported')  # expect: HM304\n",
        "pkg/styled.py": "from rich import print\n\nprint('[red]x[/]')  # expect: HM304\n",
        "pkg/table.py": """
            import builtins


            class Table:
                def print(self):
                    print(self)  # expect: HM304
                    builtins.print(self)  # expect: HM304
            """,
    }
    assert_exactly_planted(tmp_path, files)


@pytest.mark.parametrize(
    "path",
    [
        "src/pkg/cli.py",
        "src/pkg/_cli.py",
        "src/pkg/__main__.py",
        "src/pkg/cli/commands.py",
        "src/pkg/bin/tool.py",
        "src/pkg/tests/test_core.py",
        "src/pkg/test_core.py",
        "src/pkg/core_test.py",
        "src/pkg/conftest.py",
        "tests/pkg/helpers.py",
        "scripts/pkg/run.py",
        "benchmarks/src/bench.py",
        "examples/src/demo.py",
        "docs/src/conf.py",
        "notebooks/src/explore.py",
        "src/setup.py",
        "src/noxfile.py",
        "tool.py",
        "loose/tool.py",
    ],
)
def test_print_outside_package_code_is_not_reported(tmp_path: Path, path: str) -> None:
    assert_clean(tmp_path, {path: "print('output')\n", "src/pkg/__init__.py": ""})


def test_print_in_runnable_module_or_rebound_print_is_not_reported(tmp_path: Path) -> None:
    files = {
        "src/pkg/runner.py": """
            def main():
                print("result")


            if __name__ == "__main__":
                main()
            """,
        "src/pkg/logged.py": "from logging import info as print\n\nprint('x')\n",
        "src/pkg/own.py": "def print(*values):\n    return values\n\n\nprint('x')\n",
        "src/pkg/assigned.py": "import logging\n\nprint = logging.info\nprint('x')\n",
    }
    assert_clean(tmp_path, files)


# HM305: training entrypoints that never seed.


TRAIN_STEP = "for batch in batches:\n    loss = model(batch).sum()\n    loss.backward()\n"


def test_unseeded_training_entrypoints_are_reported(tmp_path: Path) -> None:
    files = {
        "train.py": "import torch  # expect: HM305\n" + TRAIN_STEP,
        "scripts/finetune.py": """
            import torch

            from helpers import build


            def main(model, optimizer, batches):
                for batch in batches:
                    optimizer.step()


            if __name__ == "__main__":  # expect: HM305
                main(*build())
            """,
        "scripts/helpers.py": "def build():\n    return None, None, []\n",
        "fit.py": """
            import lightning as L
            import numpy as np

            rng = np.random.default_rng()


            if "__main__" == __name__:  # expect: HM305
                L.Trainer(max_epochs=1).fit(model)
            """,
        "experiments/vision_train.py": "import torch  # expect: HM305\n" + "scaler.step(opt)\n",
        "deep/train_deep.py": "from .... import helpers  # expect: HM305\n" + TRAIN_STEP,
    }
    assert_exactly_planted(tmp_path, files)


def test_message_counts_the_modules_looked_into(tmp_path: Path) -> None:
    files = {
        "train.py": "from helpers import build\n" + TRAIN_STEP,
        "helpers.py": "def build():\n    return None\n",
    }
    assert messages(tmp_path, files) == [
        "training entrypoint never seeds its random generators "
        "(looked in this file and 1 same-repository module(s) it imports)"
    ]


@pytest.mark.parametrize(
    "seeding",
    [
        "import torch\ntorch.manual_seed(0)\n",
        "import torch\ntorch.cuda.manual_seed_all(0)\n",
        "import random\nrandom.seed(0)\n",
        "import numpy as np\nnp.random.seed(0)\n",
        "from numpy.random import default_rng\nrng = default_rng(7)\n",
        "import torch\ng = torch.Generator().manual_seed(1)\n",
        "import lightning as L\nL.seed_everything(42)\n",
        "from pytorch_lightning import seed_everything as fix\nfix(42)\n",
        "from transformers import set_seed\nset_seed(1)\n",
        "from accelerate.utils import set_seed\nset_seed(1)\n",
        "from project.utils import seed_all\nseed_all(3)\n",
    ],
)
def test_seeded_training_entrypoints_are_not_reported(tmp_path: Path, seeding: str) -> None:
    assert_clean(tmp_path, {"train.py": seeding + TRAIN_STEP})


def test_seeding_in_a_directly_imported_module_counts(tmp_path: Path) -> None:
    files = {
        "train.py": "from project.setup import prepare\n\nprepare()\n" + TRAIN_STEP,
        "src/project/__init__.py": "",
        "src/project/setup.py": "import random\n\n\ndef prepare():\n    random.seed(0)\n",
        "src/project/loop/__init__.py": "",
        "src/project/loop/main.py": "from ..setup import prepare\n\nprepare()\n" + TRAIN_STEP,
        "src/project/run_train.py": """
            from . import setup


            if __name__ == "__main__":
                setup.prepare()
                optimizer.step()
            """,
    }
    assert_clean(tmp_path / "seeded", files)
    files["src/project/setup.py"] = "def prepare():\n    return None\n"
    assert reported(tmp_path / "unseeded", files) == [
        ("HM305", "src/project/loop/main.py", 1),
        ("HM305", "src/project/run_train.py", 4),
        ("HM305", "train.py", 1),
    ]


def test_training_code_that_is_not_an_entrypoint_is_not_reported(tmp_path: Path) -> None:
    """A module that only defines training functions is a library, whatever its name."""
    library = "def fit(model, batches):\n" + indent(TRAIN_STEP, "    ")
    files = {
        "src/project/loop.py": library,
        "trainer.py": library,
        "train.py": library,
        "utils/train_utils.py": library,
        "main.py": "import torch\n\nmodel = torch.nn.Linear(2, 2)\n",
        "hf.py": 'if __name__ == "__main__":\n    trainer.train()\n    model.fit(x, y)\n',
    }
    assert_clean(tmp_path, files)


def test_files_that_do_not_parse_are_skipped(tmp_path: Path) -> None:
    files = {
        "broken.py": "import pickle\npickle.loads(blob\ndef (:\n",
        "train.py": "print('unterminated\n" + TRAIN_STEP,
        "template/{{ name }}.py": "{% if x %}import pickle{% endif %}\n",
    }
    assert_clean(tmp_path, files)
