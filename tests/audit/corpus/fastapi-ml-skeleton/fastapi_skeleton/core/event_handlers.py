from typing import Callable

from fastapi import FastAPI
from loguru import logger

from fastapi_skeleton.core.config import DEFAULT_MODEL_PATH
from fastapi_skeleton.services.models import HousePriceModel


def start_app_handler(app: FastAPI) -> Callable[[], None]:
    def load_model() -> None:
        logger.info("Loading the model at start-up.")
        app.state.model = HousePriceModel(DEFAULT_MODEL_PATH)

    return load_model


def stop_app_handler(app: FastAPI) -> Callable[[], None]:
    def drop_model() -> None:
        logger.info("Dropping the model at shutdown.")
        app.state.model = None

    return drop_model
