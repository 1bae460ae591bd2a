"""HM306 (hub downloads without a pinned revision) and HM307 (trust_remote_code=True)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.test_python_code_rules import assert_clean, assert_exactly_planted, messages

COMMIT = "8123ea2e9354afb7ffcc6c8641d1b2f5ecf18301"


def test_unpinned_downloads_are_reported(tmp_path: Path) -> None:
    hub = """
        import datasets
        import huggingface_hub as hh
        import torch
        import transformers as tf
        from datasets import load_dataset as load_data
        from huggingface_hub import HfApi, hf_hub_download, snapshot_download
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        MODEL_ID = "deepseek-ai/deepseek-coder-1.3b-base"
        BRANCH = "main"
        MODEL_CLASSES = {"bert": tf.BertModel}


        def load(args, model_type, base):
            AutoTokenizer.from_pretrained(MODEL_ID)  # expect: HM306
            AutoModelForCausalLM.from_pretrained(  # expect: HM306
                MODEL_ID,
                revision=BRANCH,
            )
            tf.AutoConfig.from_pretrained("gpt2", revision="v1.0")  # expect: HM306
            tf.AutoModel.from_pretrained(args.model_name_or_path)  # expect: HM306
            tf.AutoModel.from_pretrained("bert-base-uncased", revision=args.rev)  # expect: HM306
            tf.AutoModel.from_pretrained("org/m", revision="8123ea2")  # expect: HM306
            MODEL_CLASSES[model_type].from_pretrained("bert-base-uncased")  # expect: HM306
            PeftModel.from_pretrained(base, "org/lora-adapter")  # expect: HM306
            hf_hub_download(repo_id=MODEL_ID, filename="config.json")  # expect: HM306
            hh.hf_hub_download("org/model", "weights.bin", revision="main")  # expect: HM306
            snapshot_download("sentence-transformers/all-MiniLM-L6-v2")  # expect: HM306
            HfApi().snapshot_download(repo_id="org/model")  # expect: HM306
            load_data("imdb")  # expect: HM306
            datasets.load_dataset("org/data", split="train")  # expect: HM306
            torch.hub.load("pytorch/vision:v0.10.0", "resnet18")  # expect: HM306
            torch.hub.load("ultralytics/yolov5", "yolov5s")  # expect: HM306
        """
    assert_exactly_planted(tmp_path, {"hub.py": hub})


def test_pinned_and_local_loads_are_not_reported(tmp_path: Path) -> None:
    files = {
        "settings.py": f'REVISION = "{COMMIT}"\n',
        "hub.py": f"""
            import os
            from pathlib import Path

            import torch
            from datasets import load_dataset
            from huggingface_hub import hf_hub_download, snapshot_download
            from peft import PeftModel
            from transformers import AutoModel, AutoTokenizer, PreTrainedModel

            from settings import REVISION

            PINNED = "{COMMIT}"
            LOCAL_MODEL_DIR = Path(__file__).parent / "models" / "base"


            class Model(PreTrainedModel):
                @classmethod
                def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
                    return super().from_pretrained(pretrained_model_name_or_path, **kwargs)


            def load(args, tmpdirname, output_dir, base):
                AutoModel.from_pretrained("org/model", revision=PINNED)
                AutoModel.from_pretrained("org/model", revision=REVISION)
                AutoTokenizer.from_pretrained("org/model", revision="{COMMIT}")
                AutoModel.from_pretrained(LOCAL_MODEL_DIR)
                AutoModel.from_pretrained(tmpdirname)
                AutoModel.from_pretrained(args.model_dir)
                AutoModel.from_pretrained(args.checkpoint_path)
                AutoModel.from_pretrained("./checkpoints/best")
                AutoModel.from_pretrained("/models/bert")
                AutoModel.from_pretrained("~/models/bert")
                AutoModel.from_pretrained("outputs/run-1")
                AutoModel.from_pretrained("runs/a/b/c")
                AutoModel.from_pretrained(os.path.join(output_dir, "final"))
                AutoModel.from_pretrained(Path(output_dir) / "final")
                AutoModel.from_pretrained(f"{{output_dir}}/final")
                AutoModel.from_pretrained("org/model", local_files_only=True)
                PeftModel.from_pretrained(base, "./adapters/lora")
                PeftModel.from_pretrained(base, args.adapter_dir)
                hf_hub_download("org/model", "config.json", revision=PINNED)
                snapshot_download(repo_id="org/model", revision=REVISION)
                load_dataset("csv", data_files="train.csv")
                load_dataset("json", data_files={{"train": "a.jsonl"}})
                load_dataset("./data/local_builder.py")
                torch.hub.load("ultralytics/yolov5:{COMMIT}", "yolov5s")
                torch.hub.load("./yolov5", "custom", source="local")
                torch.hub.load(args.repo_dir, "custom", source="local")
            """,
        "no_hf.py": """
            from efficientnet_pytorch import EfficientNet

            model = EfficientNet.from_pretrained("efficientnet-b0")
            """,
        "own.py": """
            def load_dataset(name):
                return name


            load_dataset("imdb")
            """,
    }
    assert_clean(tmp_path, files)


def test_download_message_shows_what_and_why(tmp_path: Path) -> None:
    hub = """
        from transformers import AutoModel

        MODEL_ID = "org/model"
        AutoModel.from_pretrained(MODEL_ID)
        AutoModel.from_pretrained("org/model", revision="main")
        """
    assert [message.split(", so")[0] for message in messages(tmp_path, {"hub.py": hub})] == [
        "`transformers.AutoModel.from_pretrained` downloads MODEL_ID ('org/model') "
        "with no revision=",
        "`transformers.AutoModel.from_pretrained` downloads 'org/model' "
        "at revision='main', a branch or tag",
    ]


def test_download_wrappers_are_counted_where_the_revision_is_decided(tmp_path: Path) -> None:
    files = {
        "models.py": """
            from transformers import AutoConfig, AutoModel


            def load_model(name, revision=None):
                return AutoModel.from_pretrained(name, revision=revision)  # expect: HM306


            def load_pinned(name, revision="8123ea2e9354afb7ffcc6c8641d1b2f5ecf18301"):
                return AutoModel.from_pretrained(name, revision=revision)


            def load_config(name, revision):
                return AutoConfig.from_pretrained(name, subfolder="text", revision=revision)
            """,
        "run.py": """
            from models import load_config, load_model, load_pinned

            load_model("org/a")
            load_model("org/b", revision="main")  # expect: HM306
            load_pinned("org/c")
            load_pinned("org/d", revision="v2")  # expect: HM306
            load_pinned("./local", revision="v2")
            load_config("org/e", args.revision)  # expect: HM306
            load_config("org/f", "8123ea2e9354afb7ffcc6c8641d1b2f5ecf18301")
            """,
    }
    assert_exactly_planted(tmp_path, files)


def test_trust_remote_code_is_reported_in_any_call(tmp_path: Path) -> None:
    files = {
        "remote.py": f"""
            import transformers as tf
            from transformers import AutoModelForCausalLM, pipeline


            def load(name, trust_remote_code=True):
                return AutoModelForCausalLM.from_pretrained(  # expect: HM306, # expect: HM307
                    name, trust_remote_code=trust_remote_code
                )


            def load_checked(name, trust=False):
                return tf.AutoModel.from_pretrained(
                    name, revision="{COMMIT}", trust_remote_code=trust
                )


            tf.AutoConfig.from_pretrained(  # expect: HM307
                "org/model", revision="{COMMIT}", trust_remote_code=True
            )
            trusted = {{"trust_remote_code": True}}  # expect: HM307
            pipeline("text-generation", model="org/m", model_kwargs=trusted)
            options = dict(trust_remote_code=True)  # expect: HM307
            load_checked("org/model")
            load_checked("org/model", trust=True)  # expect: HM307
            tf.AutoModel.from_pretrained("./local", trust_remote_code=False)
            """,
    }
    assert_exactly_planted(tmp_path, files)


@pytest.mark.parametrize(
    "subject",
    ["'bert-base-uncased'", "'Qwen/Qwen2.5-7B-Instruct'", "model_name", "cfg['model']"],
)
def test_hub_ids_and_names_without_a_path_are_downloads(tmp_path: Path, subject: str) -> None:
    hub = f"from transformers import AutoModel\n\nAutoModel.from_pretrained({subject})\n"
    assert len(messages(tmp_path, {"hub.py": hub})) == 1
