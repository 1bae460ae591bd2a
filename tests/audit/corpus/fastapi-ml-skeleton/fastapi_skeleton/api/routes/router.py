from fastapi import APIRouter

from fastapi_skeleton.api.routes import heartbeat, prediction

api_router = APIRouter()
for module, tag, prefix in ((heartbeat, "health", "/health"), (prediction, "prediction", "/model")):
    api_router.include_router(module.router, tags=[tag], prefix=prefix)
