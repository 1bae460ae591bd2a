# Reproduction, abridged: text cleaning and tokenisation of the course's data module.
import re
from typing import Dict

import numpy as np
import pandas as pd
from transformers import BertTokenizer


def clean_text(text: str) -> str:
    """Lower-case TEXT and keep only alphanumeric words."""
    text = text.lower()
    text = re.sub("[^A-Za-z0-9]+", " ", text)  # remove non alphanumeric chars
    return re.sub(" +", " ", text).strip()


def tokenize(batch: Dict) -> Dict:
    """Tokenize the text input in our batch using a tokenizer."""
    tokenizer = BertTokenizer.from_pretrained("allenai/scibert_scivocab_uncased", return_dict=False)
    encoded_inputs = tokenizer(batch["text"].tolist(), return_tensors="np", padding="longest")
    return dict(ids=encoded_inputs["input_ids"], masks=encoded_inputs["attention_mask"], targets=np.array(batch["tag"]))


def preprocess(df: pd.DataFrame, class_to_index: Dict) -> Dict:
    """Preprocess the data in our dataframe."""
    df["text"] = df.title + " " + df.description  # feature engineering
    df["text"] = df.text.apply(clean_text)  # clean text
    df["tag"] = df["tag"].map(class_to_index)  # label encoding
    return tokenize(df[["text", "tag"]])
