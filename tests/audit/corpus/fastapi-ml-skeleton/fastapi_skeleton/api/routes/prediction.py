from fastapi import APIRouter, Depends
from starlette.requests import Request

from fastapi_skeleton.core import security
from fastapi_skeleton.models.payload import HousePredictionPayload
from fastapi_skeleton.models.prediction import HousePredictionResult

router = APIRouter()


@router.post("/predict", response_model=HousePredictionResult, name="predict")
def post_predict(
    request: Request,
    block_data: HousePredictionPayload,
    _: bool = Depends(security.validate_request),
) -> HousePredictionResult:
    return request.app.state.model.predict(block_data)
