# Reproduction, rewritten: the course's classifier head on a pretrained encoder.
import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import BertModel


class FinetunedLLM(nn.Module):
    def __init__(self, llm, dropout_p, embedding_dim, num_classes):
        super().__init__()
        self.llm = llm
        self.config = {"dropout_p": dropout_p, "embedding_dim": embedding_dim, "num_classes": num_classes}
        self.dropout = nn.Dropout(dropout_p)
        self.fc1 = nn.Linear(embedding_dim, num_classes)

    def forward(self, batch):
        _, pooled = self.llm(input_ids=batch["ids"], attention_mask=batch["masks"])
        return self.fc1(self.dropout(pooled))

    @torch.inference_mode()
    def predict(self, batch):
        self.eval()
        return torch.argmax(self(batch), dim=1).cpu().numpy()

    @torch.inference_mode()
    def predict_proba(self, batch):
        self.eval()
        return F.softmax(self(batch), dim=1).cpu().numpy()

    def save(self, folder):
        Path(folder, "args.json").write_text(json.dumps(self.config, indent=4))
        torch.save(self.state_dict(), Path(folder, "model.pt"))

    @classmethod
    def load(cls, args_fp, state_dict_fp):
        kwargs = json.loads(Path(args_fp).read_text())
        llm = BertModel.from_pretrained("allenai/scibert_scivocab_uncased", return_dict=False)
        model = cls(llm=llm, **kwargs)
        model.load_state_dict(torch.load(state_dict_fp, map_location=torch.device("cpu")))
        return model
