import pickle

import torch

from k3s.kuberay.pytorch_models.models import NeuralNetwork


class PyTorchHandler:
    """Serves a state dict that the training job pickled to object storage."""

    def __init__(self, model_path, input_dim=14, num_classes=6):
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        with open(model_path, "rb") as f:
            state_dict = pickle.load(f)
        self.model = NeuralNetwork(input_dim=input_dim, num_classes=num_classes)
        self.model.load_state_dict(state_dict)
        self.model.to(self.device).eval()

    def predict(self, input_data):
        batch = torch.tensor(input_data, dtype=torch.float32, device=self.device)
        with torch.no_grad():
            labels = torch.argmax(self.model(batch), dim=1)
        return {"predictions": labels.cpu().tolist()}
