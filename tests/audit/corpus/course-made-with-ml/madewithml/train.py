# Reproduction, abridged: the course's training module (a Typer app run as a Ray job).
import torch
import torch.nn.functional as F
import typer
from transformers import BertModel

from madewithml import data, utils
from madewithml.models import FinetunedLLM

app = typer.Typer()


def train_step(ds, batch_size, model, num_classes, loss_fn, optimizer):
    """Train step."""
    model.train()
    loss = 0.0
    for i, batch in enumerate(ds.iter_torch_batches(batch_size=batch_size)):
        optimizer.zero_grad()  # reset gradients
        z = model(batch)  # forward pass
        targets = F.one_hot(batch["targets"], num_classes=num_classes).float()
        J = loss_fn(z, targets)  # define loss
        J.backward()  # backward pass
        optimizer.step()  # update weights
        loss += (J.detach().item() - loss) / (i + 1)  # cumulative loss
    return loss


def eval_step(ds, batch_size, model, num_classes, loss_fn):
    """Eval step."""
    model.eval()
    loss = 0.0
    with torch.inference_mode():
        for i, batch in enumerate(ds.iter_torch_batches(batch_size=batch_size)):
            z = model(batch)
            targets = F.one_hot(batch["targets"], num_classes=num_classes).float()
            loss += (loss_fn(z, targets).item() - loss) / (i + 1)
    return loss


def train_loop_per_worker(config: dict) -> None:
    """Training loop that each worker will execute."""
    utils.set_seeds()
    llm = BertModel.from_pretrained("allenai/scibert_scivocab_uncased", return_dict=False)
    model = FinetunedLLM(llm=llm, dropout_p=config["dropout_p"], embedding_dim=llm.config.hidden_size,
                         num_classes=config["num_classes"])
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    for _ in range(config["num_epochs"]):
        train_step(config["train_ds"], config["batch_size"], model, config["num_classes"], F.binary_cross_entropy_with_logits, optimizer)


@app.command()
def train_model(dataset_loc: str, num_epochs: int = 1) -> None:
    """Main train function to train our model as a distributed workload."""
    train_loop_per_worker({"train_ds": data.load_data(dataset_loc), "num_epochs": num_epochs})


if __name__ == "__main__":  # pragma: no cover, application
    app()
