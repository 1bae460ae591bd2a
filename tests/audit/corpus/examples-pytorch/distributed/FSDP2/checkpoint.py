# Reproduction, abridged: load full state dicts saved by rank 0, weights only.
import os

import torch

MODEL_CHECKPOINT = "model_state_dict.pt"
OPTIM_CHECKPOINT = "optim_state_dict.pt"


class Checkpointer:
    def __init__(self, folder: str):
        self.folder = folder
        self.last_training_time = max(os.listdir(folder), default=None)

    def is_empty(self):
        return self.last_training_time is None

    def load_model(self, model):
        last_model_checkpoint = f"{self.folder}/{self.last_training_time}/{MODEL_CHECKPOINT}"
        full_sd = torch.load(
            last_model_checkpoint, mmap=True, weights_only=True, map_location="cpu"
        )
        model.load_state_dict(full_sd, strict=False, assign=True)

    def load_optim(self, model, opt):
        last_optim_checkpoint = f"{self.folder}/{self.last_training_time}/{OPTIM_CHECKPOINT}"
        full_sd = torch.load(
            last_optim_checkpoint, mmap=True, weights_only=True, map_location="cpu"
        )
        opt.load_state_dict(full_sd)
