"""Minimal reproduction: a predictor whose inference runs under the framework's decorator."""

import logging

from yolo.utils.torch_utils import smart_inference_mode

LOGGER = logging.getLogger(__name__)


class BasePredictor:
    def __init__(self, model, device="cpu"):
        self.model = model
        self.device = device

    def preprocess(self, im):
        return im.to(self.device).float() / 255.0

    def inference(self, im, *args, **kwargs):
        """Run the model on a preprocessed batch (called from stream_inference)."""
        return self.model(im, *args, **kwargs)

    @smart_inference_mode()
    def stream_inference(self, source):
        """Yield the model's predictions for every batch of SOURCE."""
        self.model.eval()
        for batch in source:
            im = self.preprocess(batch)
            preds = self.inference(im)
            LOGGER.debug("batch of %d done", len(batch))
            yield preds

    @smart_inference_mode()
    def predict_once(self, im):
        return self.model(self.preprocess(im))
