"""`contract` commands. They never import features.py, so they also run while it is broken."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .cli_errors import reported_errors

CONTRACT_SOURCE = Path(__file__).with_name("features.py")

contract_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@contract_app.callback()
def contract() -> None:
    """The feature contract (features.py)."""


class LabelKindChoice(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


@contract_app.command("infer")
def infer(
    data: Annotated[
        Path, typer.Argument(dir_okay=False, help="A .parquet or .csv file of labelled rows.")
    ],
    identifier: Annotated[str, typer.Option(help="The column that names each row.")],
    label: Annotated[str, typer.Option(help="The column the model predicts.")],
    label_kind: Annotated[
        LabelKindChoice | None,
        typer.Option(help="Settle a label whose values could mean two kinds."),
    ] = None,
    positive_class: Annotated[
        str | None, typer.Option(help="The positive value of a two-valued label (binary).")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="A column to leave out; prepare drops it (repeat for several)."),
    ] = None,
    margin: Annotated[
        float, typer.Option(min=0, max=10, help="Ranges widen by this share of their span.")
    ] = 0.1,
    max_categories: Annotated[
        int, typer.Option(min=2, help="The most distinct texts a categorical feature may have.")
    ] = 50,
    output: Annotated[
        Path, typer.Option(dir_okay=False, help="Where to write the contract.")
    ] = CONTRACT_SOURCE,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a contract that was changed by hand.")
    ] = False,
) -> None:
    """Write features.py from a data file, saying what it decided for each column."""
    # pandas and pyarrow load only for this command, not for every `--help` and pipeline stage.
    from .contract_infer import InferenceOptions, infer_and_write, report  # noqa: PLC0415

    options = InferenceOptions(
        identifier=identifier,
        label=label,
        label_kind=None if label_kind is None else label_kind.value,
        positive_class=positive_class,
        exclude=tuple(exclude or ()),
        margin=margin,
        max_categories=max_categories,
    )
    with reported_errors():
        inferred, outcome = infer_and_write(data, output, options, force=force)
    typer.echo(report(inferred, output, outcome))
