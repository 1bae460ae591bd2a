# Reproduction, abridged: the shared set-up every tool calls (seeding included).
import logging

from detectron2.utils.env import seed_all_rng


def default_setup(cfg, args):
    """Log basic information, set up the output folder, and seed every generator."""
    logger = logging.getLogger("detectron2")
    logger.info("Command line arguments: %s", args)
    seed = cfg.SEED
    seed_all_rng(None if seed < 0 else seed)


class DefaultTrainer:
    def __init__(self, cfg):
        self.cfg = cfg

    def train(self):
        logging.getLogger("detectron2").info("Starting training")
