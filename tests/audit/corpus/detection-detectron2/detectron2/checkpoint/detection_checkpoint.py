# Reproduction, abridged: how the checkpointer reads the model zoo's pickle and pycls files.
import logging
import pickle

import torch
from fvcore.common.checkpoint import Checkpointer
from iopath.common.file_io import PathManager


class DetectionCheckpointer(Checkpointer):
    """Same as Checkpointer, but also reads the pickled Detectron1/Caffe2 model zoo files."""

    def _load_file(self, filename):
        if filename.endswith(".pkl"):
            with PathManager.open(filename, "rb") as f:
                data = pickle.load(f, encoding="latin1")
            if "model" in data and "__author__" in data:
                # file is in Detectron2 model zoo format
                self.logger.info("Reading a file from '{}'".format(data["__author__"]))
                return data
            if "blobs" in data:
                data = data["blobs"]
            data = {k: v for k, v in data.items() if not k.endswith("_momentum")}
            return {"model": data, "__author__": "Caffe2", "matching_heuristics": True}
        elif filename.endswith(".pyth"):
            # assume file is from pycls; no one else seems to use the ".pyth" extension
            with PathManager.open(filename, "rb") as f:
                data = torch.load(f)
            model_state = {
                k: v for k, v in data["model_state"].items() if not k.endswith("num_batches_tracked")
            }
            return {"model": model_state, "__author__": "pycls", "matching_heuristics": True}

        loaded = super()._load_file(filename)  # load native pth checkpoint
        if "model" not in loaded:
            loaded = {"model": loaded}
        logging.getLogger(__name__).debug("Loaded %s", filename)
        return loaded
