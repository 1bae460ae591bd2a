"""Minimal reproduction: model and file downloads from the Hugging Face Hub, pinned and not."""

from pathlib import Path

from huggingface_hub import hf_hub_download
from transformers import AutoModelForCausalLM, AutoTokenizer

MODEL_ID = "deepseek-ai/deepseek-coder-1.3b-base"
PINNED_MODEL_ID = "Qwen/Qwen2.5-Coder-0.5B"
PINNED_REVISION = "8123ea2e9354afb7ffcc6c8641d1b2f5ecf18301"
LOCAL_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "base"


def load_remote_code_model():
    tokenizer = AutoTokenizer.from_pretrained(MODEL_ID, trust_remote_code=True)
    model = AutoModelForCausalLM.from_pretrained(
        MODEL_ID,
        device_map="auto",
        trust_remote_code=True,
    )
    return tokenizer, model


def load_pinned_model():
    tokenizer = AutoTokenizer.from_pretrained(PINNED_MODEL_ID, revision=PINNED_REVISION)
    model = AutoModelForCausalLM.from_pretrained(
        PINNED_MODEL_ID, revision=PINNED_REVISION, trust_remote_code=False
    )
    return tokenizer, model


def load_local_model():
    """A folder this repository's own training run wrote."""
    return AutoModelForCausalLM.from_pretrained(LOCAL_MODEL_DIR)


def model_config_path() -> str:
    return hf_hub_download(repo_id=MODEL_ID, filename="config.json")


def pinned_tokenizer_path() -> str:
    return hf_hub_download(
        repo_id=PINNED_MODEL_ID, filename="tokenizer.json", revision=PINNED_REVISION
    )
