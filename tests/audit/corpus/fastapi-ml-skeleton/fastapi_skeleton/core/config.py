from starlette.config import Config
from starlette.datastructures import Secret

APP_NAME = "House Price Prediction Example"
APP_VERSION = "0.0.1"
API_PREFIX = "/api"

settings = Config(".env")
API_KEY: Secret = settings("API_KEY", cast=Secret)
IS_DEBUG: bool = settings("IS_DEBUG", cast=bool, default=False)
DEFAULT_MODEL_PATH: str = settings("DEFAULT_MODEL_PATH")
