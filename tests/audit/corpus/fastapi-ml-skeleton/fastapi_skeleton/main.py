from fastapi import FastAPI

from fastapi_skeleton.api.routes.router import api_router
from fastapi_skeleton.core import config
from fastapi_skeleton.core.event_handlers import start_app_handler, stop_app_handler


def get_app() -> FastAPI:
    application = FastAPI(title=config.APP_NAME, version=config.APP_VERSION, debug=config.IS_DEBUG)
    application.include_router(api_router, prefix=config.API_PREFIX)
    application.add_event_handler("startup", start_app_handler(application))
    application.add_event_handler("shutdown", stop_app_handler(application))
    return application


app = get_app()
