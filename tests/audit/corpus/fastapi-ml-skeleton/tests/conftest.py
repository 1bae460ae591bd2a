import pytest
from starlette.config import environ
from starlette.testclient import TestClient

environ["API_KEY"] = "test-api-key"
environ["DEFAULT_MODEL_PATH"] = "./sample_model/lin_reg_california_housing_model.joblib"

from fastapi_skeleton.main import get_app  # noqa: E402


@pytest.fixture()
def test_client():
    with TestClient(get_app()) as client:
        yield client
