"""The model service: FastAPI on uvicorn, validated input, no-grad inference, honest health."""
