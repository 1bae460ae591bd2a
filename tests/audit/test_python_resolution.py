"""Loads reached through another name: import aliases, drop-in modules, module-level aliases,
and the repository's own wrapper functions, in one file or across files.

Where a wrapper's finding is counted (python_calls' docstring): at the library call when the
wrapper's own code or defaults decide, and at a caller only when that call writes an unsafe
value for an argument the wrapper passes on. The `# expect:` markers say so line by line.
"""

from __future__ import annotations

from pathlib import Path

from tests.audit.test_python_code_rules import assert_clean, assert_exactly_planted, messages

SAFE_BY_DEFAULT = """
    import torch


    def load(path, weights_only=True):
        return torch.load(path, weights_only=weights_only)
    """


def test_drop_in_pickle_modules_and_aliases_are_resolved(tmp_path: Path) -> None:
    loaders = """
        import cloudpickle as cp
        import joblib
        import pickle5 as pickle
        from pickle import load as l
        from six.moves import cPickle

        import torch

        restore = torch.load
        unpickle = getattr(pickle, "loads")


        def read(path, blob, handle):
            pickle.load(handle)  # expect: HM301
            l(handle)  # expect: HM301
            cp.loads(blob)  # expect: HM301
            cPickle.loads(blob)  # expect: HM301
            joblib.load(path)  # expect: HM301
            unpickle(blob)  # expect: HM301
            return restore(path)  # expect: HM302
        """
    assert_exactly_planted(tmp_path, {"loaders.py": loaders})


def test_a_name_assigned_twice_or_in_a_function_is_not_an_alias(tmp_path: Path) -> None:
    code = """
        import json
        import pickle

        load = pickle.load
        load = json.load


        def read(handle):
            parse = pickle.loads
            parse = json.loads
            return load(handle), parse("{}")
        """
    assert_clean(tmp_path, {"code.py": code})


def test_wrapper_calls_are_counted_where_the_unsafe_value_is_written(tmp_path: Path) -> None:
    files = {
        "src/pkg/__init__.py": "from .io import load_checkpoint, load_state\n",
        "src/pkg/io.py": """
            import torch
            from torch import load as torch_load


            def load_checkpoint(path, **kw):
                return torch.load(path, map_location="cpu", **kw)  # expect: HM302


            def load_state(path, weights_only=True):
                return torch_load(path, weights_only=weights_only)


            def load_trusted(path, weights_only=False):
                return torch.load(path, weights_only=weights_only)  # expect: HM302


            def load_as_told(path, weights_only):
                return torch.load(path, weights_only=weights_only)
            """,
        "src/pkg/resume.py": """
            from pkg import load_checkpoint, load_state
            from pkg.io import load_as_told, load_trusted


            def resume(path):
                load_checkpoint(path)
                load_checkpoint(path, weights_only=True)
                load_checkpoint(path, weights_only=False)  # expect: HM302
                load_state(path)
                load_state(path, weights_only=True)
                load_state(path, False)  # expect: HM302
                load_trusted(path)
                load_as_told(path, True)
                load_as_told(path, weights_only=False)  # expect: HM302
                return load_trusted(path, weights_only=False)  # expect: HM302
            """,
    }
    assert_exactly_planted(tmp_path, files)


def test_wrappers_of_wrappers_pass_the_caller_on(tmp_path: Path) -> None:
    files = {
        "utils/checkpoint.py": """
            import torch


            def load_state(path, weights_only=True):
                return torch.load(path, weights_only=weights_only)


            def load_resumable(path, **options):
                return load_state(path, **options)


            def load_any(path, trusted=True):
                return load_resumable(path, weights_only=trusted)


            def load_strict(path, trusted):
                return load_any(path, trusted=trusted)
            """,
        "scripts/evaluate.py": """
            from utils.checkpoint import load_any, load_resumable, load_strict

            load_resumable("a.pt")
            load_resumable("b.pt", weights_only=False)  # expect: HM302
            load_any("c.pt")
            load_any("d.pt", trusted=False)  # expect: HM302
            load_strict("e.pt", True)
            load_strict("f.pt", False)  # expect: HM302
            """,
    }
    assert_exactly_planted(tmp_path, files)


def test_wrapper_setting_its_own_kwargs_is_reported_at_its_load(tmp_path: Path) -> None:
    """Ultralytics' and others' shape: a wrapper that turns weights_only off in **kwargs."""
    files = {
        "yolo/utils/patches.py": """
            import torch


            def torch_load(*args, **kwargs):
                if "weights_only" not in kwargs:
                    kwargs["weights_only"] = False
                return torch.load(*args, **kwargs)  # expect: HM302
            """,
        "yolo/nn/tasks.py": """
            from yolo.utils.patches import torch_load


            def attempt_load(weight):
                return torch_load(weight, map_location="cpu")
            """,
        "compat.py": """
            import torch

            _original_torch_load = torch.load


            def _patched_torch_load(*args, **kwargs):
                kwargs.setdefault("weights_only", False)
                return _original_torch_load(*args, **kwargs)  # expect: HM302


            torch.load = _patched_torch_load
            """,
    }
    assert_exactly_planted(tmp_path, files)
    found = messages(tmp_path, files)
    assert found[0].startswith("`torch.load` sets weights_only=False")


def test_ultralytics_torch_load_defaults_weights_only_off(tmp_path: Path) -> None:
    """yolov5 loads every checkpoint through ultralytics' wrapper, which fills in False."""
    train = """
        from ultralytics.utils.patches import torch_load


        def resume(weights, last):
            ckpt = torch_load(weights, map_location="cpu")  # expect: HM302
            safe = torch_load(last, weights_only=True)
            return ckpt, safe
        """
    assert_exactly_planted(tmp_path, {"train.py": train})


def test_wrapper_message_names_the_wrapper_and_the_load(tmp_path: Path) -> None:
    files = {
        "weights.py": SAFE_BY_DEFAULT,
        "run.py": "from weights import load\n\nload('x.pt', weights_only=False)\n",
    }
    assert messages(tmp_path, files) == [
        "this call of `load` reaches `torch.load` (weights.py:5), which sets weights_only=False, "
        "so it may unpickle arbitrary objects"
    ]


def test_numpy_allow_pickle_passed_through_a_wrapper(tmp_path: Path) -> None:
    files = {
        "arrays.py": """
            import numpy as np


            def load_array(path, allow_pickle=False):
                return np.load(path, allow_pickle=allow_pickle)


            def load_objects(path, allow_pickle=True):
                return np.load(path, allow_pickle=allow_pickle)  # expect: HM301


            load_array("a.npy")
            load_array("b.npy", allow_pickle=True)  # expect: HM301
            load_objects("c.npy")
            """,
    }
    assert_exactly_planted(tmp_path, files)


def test_pickle_wrappers_are_one_finding_however_often_called(tmp_path: Path) -> None:
    files = {
        "store.py": """
            import pickle


            def read_pickle(path, **kw):
                with open(path, "rb") as handle:
                    return pickle.load(handle, **kw)  # expect: HM301
            """,
        "a.py": "from store import read_pickle\n\nread_pickle('a', encoding='latin1')\n",
        "b.py": "from store import read_pickle\n\nread_pickle('b', fix_imports=False)\n",
    }
    assert_exactly_planted(tmp_path, files)


def test_calls_that_only_share_a_name_with_a_wrapper_are_not_followed(tmp_path: Path) -> None:
    files = {
        "weights.py": SAFE_BY_DEFAULT,
        "other.py": """
            import json


            class Store:
                def load(self, path, weights_only=False):
                    return json.loads(path)


            def read(store, path):
                store.load(path, weights_only=False)
                return json.load(path, weights_only=False)
            """,
    }
    assert_clean(tmp_path, files)
