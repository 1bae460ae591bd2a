"""HM303 and the repository's own grad-off helpers: decorators and context managers defined in
the repository turn gradients off as surely as torch's own, wherever they are defined."""

from __future__ import annotations

from pathlib import Path

from tests.audit.test_python_code_rules import assert_clean, assert_exactly_planted

HELPERS = """
import contextlib
import functools

import torch

TORCH_1_9 = True


def smart_inference_mode():
    def decorate(fn):
        if TORCH_1_9 and torch.is_inference_mode_enabled():
            return fn
        return (torch.inference_mode if TORCH_1_9 else torch.no_grad)()(fn)

    return decorate


def inference(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch.inference_mode():
            return fn(*args, **kwargs)

    return wrapper


def frozen(fn):
    return torch.no_grad()(fn)


def decorated(fn):
    @torch.no_grad()
    def wrapper(*args):
        return fn(*args)

    return wrapper


@contextlib.contextmanager
def evaluating(model):
    model.eval()
    with torch.no_grad():
        yield model


def timed(fn):
    return fn
"""


def test_repository_grad_off_helpers_are_honoured(tmp_path: Path) -> None:
    files = {
        "yolo/__init__.py": "",
        "yolo/utils/__init__.py": "",
        "yolo/utils/torch_utils.py": HELPERS,
        "yolo/engine/predictor.py": """
            import torch

            from yolo.utils import torch_utils
            from yolo.utils.torch_utils import decorated, evaluating, frozen, inference
            from yolo.utils.torch_utils import smart_inference_mode as smart


            class Predictor:
                @smart()
                def predict_once(self, x):
                    self.model.eval()
                    return self.model(x)

                @inference
                def predict(self, x):
                    return self.model(x)

                @torch_utils.frozen
                def infer(self, x):
                    return self.model(x)

                @decorated
                def score(self, x):
                    return self.model(x)

                def serve(self, x):
                    with evaluating(self.model) as model:
                        return model(x)

                @frozen
                def predict_batch(self, x):
                    return self.net(x)
            """,
    }
    assert_clean(tmp_path, files)


def test_other_repository_decorators_do_not_hide_gradients(tmp_path: Path) -> None:
    files = {
        "helpers.py": HELPERS,
        "predictor.py": """
            import torch

            from helpers import evaluating, timed


            @timed
            def predict(model, x):  # expect: HM303
                return model(x)


            def serve(model, x):  # expect: HM303
                with evaluating(model):
                    first = model(x)
                return model(x) + first


            @undefined_elsewhere
            def score(model, x):  # expect: HM303
                return model(x)
            """,
    }
    assert_exactly_planted(tmp_path, files)


def test_a_helper_in_the_same_file_counts(tmp_path: Path) -> None:
    module = HELPERS + (
        "\n\n@inference\ndef predict(model, x):\n    return model(x)\n"
        "\n\n@timed\ndef infer(model, x):  # expect: HM303\n    return model(x)\n"
    )
    assert_exactly_planted(tmp_path, {"serve.py": module})
