"""Reflex configuration. Ports come from HITL_FRONTEND_PORT / HITL_BACKEND_PORT (tests pick free ones)."""

import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

_frontend_port = int(os.environ.get("HITL_FRONTEND_PORT", "3000"))
_backend_port = int(os.environ.get("HITL_BACKEND_PORT", "8000"))

config = rx.Config(
    app_name="hitl_studio",
    telemetry_enabled=False,
    frontend_port=_frontend_port,
    backend_port=_backend_port,
    api_url=os.environ.get("HITL_API_URL", f"http://localhost:{_backend_port}"),
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="inherit", accent_color="indigo", gray_color="slate", radius="medium")
        )
    ],
    disable_plugins=[SitemapPlugin],
)
