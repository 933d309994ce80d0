"""OAuth2 connections of credentials: connect (authorization code + PKCE), fresh tokens for runs, revoke.

Connect: :func:`start_authorization` stores a single-use ``state`` (as its
SHA-256) and the PKCE verifier (sealed), bound to the credential and the user,
for ten minutes, and returns the provider's URL. The provider sends the browser
back to ``<HITL_API_URL>/api/v1/oauth/callback``; :func:`complete_authorization`
consumes the state, trades the code for tokens and seals them in the
credential's ``oauth_connection`` row. The callback cannot see who is signed in
(the studio's cookie is ``SameSite=Strict``, and the provider's redirect is a
cross-site navigation), so the state is what carries the user: it came from
their "Connect", and their right to change the credential is checked again.

Runs: :func:`access_for_run` hands out the access token, refreshing it first
when it expires within :data:`REFRESH_MARGIN`, and a renew callable for the
node to call on a 401 (see :func:`nodes.sdk.oauth2_access_token`). Refreshes
of one connection never overlap: a lock per credential in the process and, on
PostgreSQL, the row lock across processes; whoever waited re-reads the row and
uses the tokens just stored rather than refreshing again (providers that rotate
refresh tokens would refuse a second refresh with the old one).
"""

from __future__ import annotations

import functools
import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.auth.tokens import token_hash
from hitl_studio.credentials import oauth2
from hitl_studio.credentials.crypto import DecryptionError, decrypt, encrypt
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.credentials import Credential, OAuthConnection
from hitl_studio.models.oauth import OAuthState
from hitl_studio.models.users import User
from hitl_studio.services import audit
from hitl_studio.services.credentials import keyring, load_visible, open_data
from hitl_studio.services.errors import Conflict, Forbidden, InvalidInput, ServiceError
from hitl_studio.settings import get_settings
from nodes.http.credentials import OAuth2Api, OAuth2Fields
from nodes.registry import get_registry
from nodes.sdk import OAUTH2_RENEW, NodeError

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/api/v1/oauth/callback"
STATE_TTL = timedelta(minutes=10)
# Used and expired states are kept a day, so a late or repeated callback is told why it fails.
STATE_RETENTION = timedelta(days=1)
REFRESH_MARGIN = timedelta(seconds=60)

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class CallbackError(ServiceError):
    """The provider's callback cannot complete a connection; the message says what to do (HTTP 400)."""

    status_code = 400
    code = "oauth_callback_refused"


def redirect_uri() -> str:
    """The callback URL to register at the provider."""
    return f"{get_settings().api_url}{CALLBACK_PATH}"


def is_oauth2(type_id: str) -> bool:
    try:
        return issubclass(get_registry().credential_type(type_id), OAuth2Api)
    except LookupError:
        return False


def _fields(credential: Credential) -> OAuth2Fields:
    return OAuth2Fields.model_validate(open_data(credential))


def _changeable(session: Session, credential_id: str, actor: User) -> Credential:
    """An OAuth2 credential ``actor`` may connect or disconnect (its owner, or an admin)."""
    credential = load_visible(session, credential_id, actor)
    if credential.owner_id != actor.id and not allowed(actor.role, Permission.MANAGE_USERS):
        raise Forbidden("Only the credential's owner or an admin can connect or disconnect it.")
    if not is_oauth2(credential.type):
        raise InvalidInput(
            f"The credential {credential.name!r} is a {credential.type}, not an OAuth2 credential; "
            "only OAuth2 credentials connect to an account."
        )
    return credential


def start_authorization(credential_id: str, actor: User) -> str:
    """Begin connecting an OAuth2 credential; returns the provider's URL to open in the browser.

    Raises:
        NotFound: No such credential visible to ``actor``.
        Forbidden: ``actor`` is neither its owner nor an admin.
        InvalidInput: It is not an OAuth2 credential, or it has no authorization URL.
    """
    state = oauth2.new_state()
    verifier = oauth2.new_verifier()
    ring = keyring()
    now = utcnow()
    with session_scope() as session:
        credential = _changeable(session, credential_id, actor)
        fields = _fields(credential)
        if not fields.endpoints().authorization_url or not fields.endpoints().token_url:
            raise InvalidInput(
                f"The credential {credential.name!r} has no authorization or token URL; set them, or pick a provider.",
                field_errors={"authorization_url": "Required for a generic provider."},
            )
        session.execute(delete(OAuthState).where(col(OAuthState.expires_at) < now - STATE_RETENTION))
        session.add(
            OAuthState(
                state_hash=token_hash(state),
                credential_id=credential.id,
                user_id=actor.id,
                encrypted_verifier=encrypt(ring, {"code_verifier": verifier}),
                key_id=ring.current_id,
                redirect_uri=redirect_uri(),
                created_at=now,
                expires_at=now + STATE_TTL,
            )
        )
    return oauth2.authorization_url(
        fields, redirect_uri=redirect_uri(), state=state, code_challenge=oauth2.challenge(verifier)
    )


def _claim_state(state: str | None) -> tuple[OAuthState, str]:
    """Use up ``state`` (once, even if what follows fails); returns its row and the PKCE verifier."""
    if not state:
        raise CallbackError("The provider sent you back without a state; start again from the Credentials screen.")
    now = utcnow()
    with session_scope() as session:
        row = session.exec(select(OAuthState).where(OAuthState.state_hash == token_hash(state))).first()
        if row is None:
            raise CallbackError(
                "This sign-in is unknown to the studio (a wrong or forged state); start again from the "
                "Credentials screen."
            )
        if row.used_at is not None:
            raise CallbackError("This sign-in was already used; start again from the Credentials screen.")
        if row.expires_at <= now:
            raise CallbackError(
                f"This sign-in expired (they last {int(STATE_TTL.total_seconds() // 60)} minutes); start again "
                "from the Credentials screen."
            )
        claimed = session.execute(
            update(OAuthState)
            .where(col(OAuthState.id) == row.id, col(OAuthState.used_at).is_(None))
            .values(used_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise CallbackError("This sign-in was already used; start again from the Credentials screen.")
        try:
            verifier = str(decrypt(keyring(), row.encrypted_verifier, expected_key_id=row.key_id)["code_verifier"])
        except DecryptionError as err:
            raise CallbackError(f"This sign-in cannot be completed: {err}.") from err
    return row, verifier


def complete_authorization(
    state: str | None, code: str | None, *, error: str | None = None, error_description: str | None = None
) -> str:
    """Finish a connection from the provider's callback; returns the credential's id.

    Raises:
        CallbackError: A missing, unknown, used or expired state; the provider's refusal; no code.
        NotFound, Forbidden: The credential is gone, or its user may no longer change it.
    """
    row, verifier = _claim_state(state)
    if error:
        reason = f"{error}: {error_description}" if error_description else error
        raise CallbackError(f"The provider did not grant access ({reason[:300]}); nothing was connected.")
    if not code:
        raise CallbackError("The provider sent you back without a code; start again from the Credentials screen.")
    with session_scope() as session:
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            raise CallbackError("The person who started this sign-in is no longer an active user.")
        credential = _changeable(session, row.credential_id, user)
        fields = _fields(credential)
    try:
        tokens = oauth2.exchange_code(fields, code=code, verifier=verifier, redirect_uri=row.redirect_uri, now=utcnow())
    except oauth2.ProviderError as err:
        raise CallbackError(f"The provider refused the sign-in: {err}.") from err
    ring = keyring()
    with session_scope() as session:
        session.execute(delete(OAuthConnection).where(col(OAuthConnection.credential_id) == credential.id))
        session.add(
            OAuthConnection(
                credential_id=credential.id,
                provider=fields.provider,
                encrypted_tokens=encrypt(ring, tokens.sealed()),
                key_id=ring.current_id,
                scopes=tokens.scopes,
                expires_at=tokens.expires_at,
                owner_id=user.id,
            )
        )
        audit.record(
            session,
            "credential.oauth_connected",
            actor=user,
            target_type="credential",
            target_id=credential.id,
            after={
                "provider": fields.provider,
                "scopes": tokens.scopes,
                "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
                "refreshable": tokens.refresh_token is not None,
            },
        )
    return credential.id


def _connection(session: Session, credential_id: str, *, lock: bool = False) -> OAuthConnection | None:
    query = (
        select(OAuthConnection)
        .where(OAuthConnection.credential_id == credential_id)
        .order_by(col(OAuthConnection.updated_at).desc())
    )
    return session.exec(query.with_for_update() if lock else query).first()


def connection_status(credential_id: str) -> dict[str, Any]:
    """What the Credentials screen shows: connected or not, until when, with which scopes. Never a token."""
    with session_scope() as session:
        connection = _connection(session, credential_id)
    if connection is None:
        return {"connected": False, "expires_at": None, "scopes": []}
    expires_at = connection.expires_at.isoformat() if connection.expires_at else None
    return {"connected": True, "expires_at": expires_at, "scopes": list(connection.scopes)}


def revoke(credential_id: str, actor: User) -> None:
    """Disconnect: revoke the grant at the provider when it has a revoke URL, and forget the tokens.

    The tokens are forgotten even when the provider cannot be reached (the audit
    row records that), so a person is never stuck with a connection they want gone.

    Raises:
        NotFound, Forbidden, InvalidInput: As for :func:`start_authorization`.
        Conflict: The credential is not connected.
    """
    with session_scope() as session:
        credential = _changeable(session, credential_id, actor)
        fields = _fields(credential)
        connection = _connection(session, credential_id)
        if connection is None:
            raise Conflict(f"The credential {credential.name!r} is not connected; there is nothing to revoke.")
        try:
            tokens = decrypt(keyring(), connection.encrypted_tokens, expected_key_id=connection.key_id)
        except DecryptionError:
            tokens = {}
    revoke_url = fields.endpoints().revoke_url
    problem = None
    token, hint = (tokens.get("refresh_token"), "refresh_token")
    if not token:
        token, hint = (tokens.get("access_token"), "access_token")
    if revoke_url and token:
        try:
            oauth2.revoke_token(fields, token=str(token), hint=hint)
        except oauth2.ProviderError as err:
            problem = str(err)
            logger.warning("credential %s: revoking at the provider failed: %s", credential_id, problem)
    with session_scope() as session:
        session.execute(delete(OAuthConnection).where(col(OAuthConnection.credential_id) == credential_id))
        audit.record(
            session,
            "credential.oauth_revoked",
            actor=actor,
            target_type="credential",
            target_id=credential_id,
            before={"provider": connection.provider, "scopes": list(connection.scopes)},
            after={"revoked_at_provider": bool(revoke_url and token and problem is None), "provider_error": problem},
        )


def _lock(credential_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(credential_id, threading.Lock())


def _expiring(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at - now <= REFRESH_MARGIN


def _open_tokens(credential: Credential, connection: OAuthConnection) -> dict[str, Any]:
    try:
        return decrypt(keyring(), connection.encrypted_tokens, expected_key_id=connection.key_id)
    except DecryptionError as err:
        raise NodeError(f"the OAuth2 tokens of the credential {credential.name!r} cannot be decrypted: {err}") from err


def _not_connected(credential: Credential) -> NodeError:
    return NodeError(
        f"the OAuth2 credential {credential.name!r} is not connected to an account",
        description="Open it under Credentials and click Connect.",
    )


def _fresh_tokens(credential: Credential, *, refused: str | None) -> tuple[dict[str, Any], OAuthConnection]:
    """The connection's tokens, refreshed first when they expire soon or ``refused`` is still the stored token."""
    with _lock(credential.id), session_scope() as session:
        connection = _connection(session, credential.id, lock=True)
        if connection is None:
            raise _not_connected(credential)
        tokens = _open_tokens(credential, connection)
        now = utcnow()
        stale = tokens.get("access_token") == refused if refused is not None else _expiring(connection.expires_at, now)
        if not stale:
            return tokens, connection
        if not tokens.get("refresh_token"):
            raise NodeError(
                f"the OAuth2 connection of the credential {credential.name!r} has expired, and the provider gave "
                "no refresh token",
                description="Reconnect it under Credentials (for Microsoft, add the offline_access scope).",
            )
        try:
            fresh = oauth2.refresh(_fields(credential), refresh_token=str(tokens["refresh_token"]), now=now)
        except oauth2.ProviderError as err:
            raise NodeError(
                f"the provider would not refresh the OAuth2 connection of the credential {credential.name!r}: {err}",
                description="Reconnect it under Credentials.",
            ) from err
        ring = keyring()
        connection.encrypted_tokens = encrypt(ring, fresh.sealed())
        connection.key_id = ring.current_id
        connection.expires_at = fresh.expires_at
        connection.scopes = fresh.scopes or connection.scopes
        connection.updated_at = utcnow()
        session.add(connection)
        logger.info("refreshed the OAuth2 tokens of credential %s", credential.id)
        return fresh.sealed(), connection


def _renew(credential: Credential, refused: str) -> None:
    _fresh_tokens(credential, refused=refused)


def access_for_run(credential: Credential) -> dict[str, Any]:
    """What a node gets for an OAuth2 credential: a fresh access token (never the refresh token or client secret).

    Raises:
        NodeError: Not connected, or expired and the provider would not refresh it.
    """
    with session_scope() as session:
        connection = _connection(session, credential.id)
    if connection is None:
        raise _not_connected(credential)
    if _expiring(connection.expires_at, utcnow()):
        tokens, connection = _fresh_tokens(credential, refused=None)
    else:
        tokens = _open_tokens(credential, connection)
    return {
        "access_token": tokens["access_token"],
        "token_type": tokens.get("token_type") or "Bearer",
        "expires_at": connection.expires_at.isoformat() if connection.expires_at else None,
        "scopes": list(connection.scopes),
        OAUTH2_RENEW: functools.partial(_renew, credential),
    }
