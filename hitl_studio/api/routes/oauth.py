"""OAuth2 connections: start one, the provider's callback, revoke one.

The callback is opened by the browser the provider redirects, so it answers
with pages, not JSON: a redirect to the Credentials screen on success, a short
HTML page with a 4xx status when the sign-in cannot be completed.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import credentials, oauth
from hitl_studio.services.errors import ServiceError
from hitl_studio.settings import get_settings

router = APIRouter(tags=["oauth"])
Manager = Annotated[User, Depends(require(Permission.MANAGE_CREDENTIALS))]

CREDENTIALS_SCREEN = "/credentials"
_HEADERS = {
    "Cache-Control": "no-store",
    # The callback URL carries the code and state; never pass it on to another site.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}
_STYLE = "body{font-family:system-ui,sans-serif;line-height:1.5;max-width:40rem;margin:2rem auto;padding:0 1rem}"


@router.post(
    "/credentials/{credential_id}/oauth/authorize",
    summary="Start connecting an OAuth2 credential: the provider URL to open, and the redirect URI to register",
)
def authorize(credential_id: str, user: Manager) -> dict[str, str]:
    url = oauth.start_authorization(credential_id, user)
    return {"authorization_url": url, "redirect_uri": oauth.redirect_uri()}


@router.post("/credentials/{credential_id}/oauth/revoke", summary="Disconnect: revoke at the provider, forget tokens")
def revoke(credential_id: str, user: Manager) -> dict[str, Any]:
    oauth.revoke(credential_id, user)
    return credentials.public_fields(credentials.get_credential(credential_id, user))


@router.get(
    "/oauth/callback",
    summary="Where the provider sends the browser back; redirects to the Credentials screen",
    response_class=HTMLResponse,
    responses={303: {"description": "Connected"}, 400: {"description": "Bad, used or expired state; refused"}},
)
def callback(
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    try:
        credential_id = oauth.complete_authorization(state, code, error=error, error_description=error_description)
    except ServiceError as err:
        status = err.status_code if 400 <= err.status_code < 500 else 400
        return _page("The connection was not made", err.message, status)
    target = f"{get_settings().public_url}{CREDENTIALS_SCREEN}?connected={credential_id}"
    return RedirectResponse(target, status_code=303, headers=_HEADERS)


def _page(title: str, message: str, status: int) -> HTMLResponse:
    back = f"{get_settings().public_url}{CREDENTIALS_SCREEN}"
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} - HITL Studio</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{html.escape(title)}</h1><p role='status'>{html.escape(message)}</p>"
        f"<p><a href='{html.escape(back, quote=True)}'>Back to Credentials</a></p></main></body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_HEADERS)
