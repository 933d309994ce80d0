"""The studio's HTTP API (FastAPI), mounted into Reflex's backend through ``api_transformer``."""
