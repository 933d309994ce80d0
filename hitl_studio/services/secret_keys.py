"""What HITL_SECRET_KEY seals: the start-up check that the configured keys open it, and key rotation.

Every column holding a value sealed by :mod:`hitl_studio.credentials.crypto`
is listed in :data:`SEALED`, beside its table's ``key_id`` column; a new
sealed column must be added there, or rotation would leave it behind.

Rotation re-encrypts under the current key in small batches, each its own
short transaction, and writes each value back only if it is still the one
that was read (compare-and-set). So runs keep decrypting (old keys still open
old values until the end) and people keep editing meanwhile: a row someone
changed mid-batch was written under the current key already, or is picked up
by the next pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, inspect, update
from sqlmodel import SQLModel, col, select

from hitl_studio.credentials.crypto import DecryptionError, Keyring, Tampered, UnknownKey, decrypt, encrypt
from hitl_studio.db import get_engine, session_scope
from hitl_studio.models.credentials import Credential, OAuthConnection
from hitl_studio.models.oauth import OAuthState
from hitl_studio.models.webhooks import WebhookSubscription
from hitl_studio.services import audit
from hitl_studio.services.credentials import keyring

DEFAULT_BATCH_SIZE = 100
# A row a process still on the old key rewrote during a pass is picked up by the next one;
# more passes than this means such a process is still running, which the result reports.
MAX_PASSES = 3


@dataclass(frozen=True)
class SealedColumn:
    """A column of sealed values; its table has ``id`` and ``key_id`` columns too."""

    label: str
    table: type[SQLModel]
    value: str

    @property
    def name(self) -> str:
        return str(self.table.__tablename__)

    def columns(self) -> tuple[Any, Any, Any]:
        """The id, value and key id columns."""
        return col(self.table.id), col(getattr(self.table, self.value)), col(self.table.key_id)  # type: ignore[attr-defined]


SEALED: tuple[SealedColumn, ...] = (
    SealedColumn("credentials", Credential, "encrypted_data"),
    SealedColumn("OAuth tokens", OAuthConnection, "encrypted_tokens"),
    SealedColumn("webhook signing secrets", WebhookSubscription, "encrypted_secret"),
    SealedColumn("OAuth sign-ins in progress", OAuthState, "encrypted_verifier"),
)


@dataclass(frozen=True)
class KeyCheck:
    """What the configured keys cannot open.

    Attributes:
        unknown: Key ids no configured key has, with what each sealed.
        tampered: ``(label, row id)`` of sampled values that failed their integrity check.
    """

    current_id: str
    unknown: dict[str, list[str]] = field(default_factory=dict)
    tampered: list[tuple[str, str]] = field(default_factory=list)

    def problem(self) -> str | None:
        """The one line to stop start-up with, or ``None`` when every stored key id opens."""
        if not self.unknown:
            return None
        labels = list(dict.fromkeys(label for labels in self.unknown.values() for label in labels))
        ids = ", ".join(sorted(self.unknown))
        plural = "s" if len(self.unknown) > 1 else ""
        return (
            f"HITL_SECRET_KEY (key id {self.current_id}) cannot decrypt {_join(labels)} encrypted with key id{plural} "
            f"{ids}: set the key they were written with, or list it in HITL_SECRET_KEY_PREVIOUS"
        )


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _present() -> list[SealedColumn]:
    """The sealed columns whose tables exist (a database not migrated yet holds no secrets)."""
    tables = set(inspect(get_engine()).get_table_names())
    return [column for column in SEALED if column.name in tables]


def check_keys(ring: Keyring | None = None) -> KeyCheck:
    """Open one stored value per key id of every sealed column.

    One is enough: a key id is a hash of the key, so if one value under it opens,
    the key is configured. Reads only.
    """
    ring = ring or keyring()
    report = KeyCheck(ring.current_id)
    with session_scope() as session:
        for sealed in _present():
            id_column, value_column, key_column = sealed.columns()
            key_ids = session.exec(select(key_column).where(value_column != "").distinct()).all()
            for stored_id in key_ids:
                row = session.exec(
                    select(id_column, value_column)
                    .where(key_column == stored_id if stored_id is not None else key_column.is_(None))
                    .where(value_column != "")
                    .order_by(id_column)
                    .limit(1)
                ).one()
                try:
                    decrypt(ring, row[1], expected_key_id=stored_id)
                except UnknownKey as err:
                    report.unknown.setdefault(err.key_id, []).append(sealed.label)
                except Tampered:
                    report.tampered.append((sealed.label, row[0]))
    return report


@dataclass
class RotationCount:
    """What rotation did to one sealed column.

    Attributes:
        re_encrypted: Values now sealed with the current key by this run.
        already_current: Values that were sealed with the current key before it started.
        failed: Ids of rows whose value cannot be opened (tampered, or an unknown key); left as they are.
        remaining: Values still under an old key at the end (a process still using the old key wrote them).
    """

    re_encrypted: int = 0
    already_current: int = 0
    failed: list[str] = field(default_factory=list)
    remaining: int = 0


def rotate(
    ring: Keyring | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor_label: str = "cli",
    after_batch: Callable[[], None] | None = None,
) -> dict[str, RotationCount]:
    """Re-encrypt every sealed value under the current key; safe to run again (it only touches old values).

    Args:
        ring: The keys (default: the configured ones); the old keys must be among them.
        batch_size: Rows per transaction.
        actor_label: Who ran it, for the audit log.
        after_batch: Called after each batch (tests use it to interleave runs and edits).

    Returns:
        The counts per sealed column, by label.
    """
    ring = ring or keyring()
    results: dict[str, RotationCount] = {}
    for sealed in _present():
        count = RotationCount()
        id_column, _, key_column = sealed.columns()
        with session_scope() as session:
            count.already_current = session.exec(
                select(func.count(id_column)).where(key_column == ring.current_id)
            ).one()
        for _ in range(MAX_PASSES):
            if not _rotate_pass(sealed, ring, batch_size, count, after_batch):
                break
        count.remaining = _old_values(sealed, ring, exclude=count.failed)
        results[sealed.label] = count
    with session_scope() as session:
        audit.record(
            session,
            "secret_key.rotated",
            actor_label=actor_label,
            target_type="secret_key",
            target_id=ring.current_id,
            after={
                label: {"re_encrypted": count.re_encrypted, "failed": len(count.failed), "remaining": count.remaining}
                for label, count in results.items()
            },
        )
    return results


def _old(sealed: SealedColumn, ring: Keyring, exclude: list[str]) -> Any:
    id_column, value_column, key_column = sealed.columns()
    condition = ((key_column != ring.current_id) | key_column.is_(None)) & (value_column != "")
    return condition & id_column.notin_(exclude) if exclude else condition


def _old_values(sealed: SealedColumn, ring: Keyring, *, exclude: list[str]) -> int:
    id_column, _, _ = sealed.columns()
    with session_scope() as session:
        return int(session.exec(select(func.count(id_column)).where(_old(sealed, ring, exclude))).one())


def _rotate_pass(
    sealed: SealedColumn,
    ring: Keyring,
    batch_size: int,
    count: RotationCount,
    after_batch: Callable[[], None] | None,
) -> int:
    """One walk over the old values in id order; returns how many it tried to re-encrypt."""
    id_column, value_column, key_column = sealed.columns()
    tried = 0
    last = ""
    while True:
        with session_scope() as session:
            rows = session.exec(
                select(id_column, value_column, key_column)
                .where(_old(sealed, ring, count.failed), id_column > last)
                .order_by(id_column)
                .limit(batch_size)
            ).all()
        if not rows:
            return tried
        last = rows[-1][0]
        resealed: list[tuple[str, str, str]] = []
        for row_id, value, stored_id in rows:
            try:
                resealed.append((row_id, value, encrypt(ring, decrypt(ring, value, expected_key_id=stored_id))))
            except DecryptionError:
                count.failed.append(row_id)
        tried += len(resealed)
        with session_scope() as session:
            for row_id, old_value, new_value in resealed:
                changed = session.execute(
                    update(sealed.table)
                    .where(id_column == row_id, value_column == old_value)
                    .values({sealed.value: new_value, "key_id": ring.current_id})
                )
                count.re_encrypted += changed.rowcount  # type: ignore[attr-defined]
        if after_batch is not None:
            after_batch()
