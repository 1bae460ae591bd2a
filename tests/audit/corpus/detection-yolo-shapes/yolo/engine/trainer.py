"""Minimal reproduction: a trainer that resumes from its own last checkpoint."""

import torch

from yolo.utils.torch_utils import init_seeds


class BaseTrainer:
    def __init__(self, model, optimizer, last="weights/last.pt", seed=0):
        init_seeds(seed)
        self.model = model
        self.optimizer = optimizer
        self.last = last

    def resume_training(self):
        ckpt = torch.load(self.last, weights_only=False)
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        return ckpt["epoch"] + 1

    def optimizer_step(self, loss):
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
