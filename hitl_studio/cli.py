"""``python -m hitl_studio``: migrate, create an admin or API key, rotate the secret key, run a worker or scheduler."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Sequence

from hitl_studio import migrations
from hitl_studio.services import api_keys, users
from hitl_studio.services.errors import ServiceError
from hitl_studio.startup import configure_logging, secret_key_or_exit, settings_or_exit


def _migrate(_args: argparse.Namespace) -> int:
    migrations.upgrade()
    print("database is at the latest schema")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get("HITL_ADMIN_PASSWORD"):
        return os.environ["HITL_ADMIN_PASSWORD"]
    if not sys.stdin.isatty():
        raise ServiceError("No password: pass --password-stdin or set HITL_ADMIN_PASSWORD.")
    first = getpass.getpass("Password for the admin: ")
    if first != getpass.getpass("Repeat it: "):
        raise ServiceError("The two passwords differ; nothing was changed.")
    return first


def _create_admin(args: argparse.Namespace) -> int:
    password = _read_password(args)
    problem = users.password_problem(password)
    if problem:
        raise ServiceError(f"password: {problem}")
    user, created = users.ensure_admin(args.email, password, actor_label="cli")
    if not created and args.reset_password:
        users.set_password(user.id, password, actor_label="cli")
    state = "created" if created else "already existed; it is an active admin now"
    print(f"admin {user.email} {state}")
    return 0


def _create_api_key(args: argparse.Namespace) -> int:
    owner = users.find_user_by_email(args.email)
    if owner is None:
        raise ServiceError(f"No user with the email {args.email}; create the user first.")
    if not owner.active:
        raise ServiceError(f"The user {owner.email} is deactivated; activate them first.")
    created = api_keys.create_api_key(owner, args.name, actor_label="cli")
    print(created.secret)
    print(f"(API key {created.api_key.name!r} for {owner.email}: shown once, store it now)", file=sys.stderr)
    return 0


def _rotate_key(args: argparse.Namespace) -> int:
    from hitl_studio.services import secret_keys

    secret_key_or_exit()
    results = secret_keys.rotate(batch_size=args.batch_size)
    current = secret_keys.keyring().current_id
    failed = remaining = 0
    for label, count in results.items():
        line = f"{label}: {count.re_encrypted} re-encrypted, {count.already_current} already on key {current}"
        if count.failed:
            line += f", {len(count.failed)} cannot be decrypted (rows {', '.join(count.failed)})"
        if count.remaining:
            line += f", {count.remaining} still under an old key"
        print(line)
        failed += len(count.failed)
        remaining += count.remaining
    if failed or remaining:
        advice = ["error: not every secret is under the new key yet; keep the old key in HITL_SECRET_KEY_PREVIOUS."]
        if failed:
            advice.append("The rows that cannot be decrypted were tampered with: re-enter those secrets.")
        if remaining:
            advice.append("A process still uses the old HITL_SECRET_KEY: restart it, then run rotate-key again.")
        print(" ".join(advice), file=sys.stderr)
        return 1
    print(f"done: every secret is sealed with key {current}; the old key can leave HITL_SECRET_KEY_PREVIOUS")
    return 0


def _queue_check(args: argparse.Namespace) -> int:
    from hitl_studio.queue import JobStatus, get_queue

    queue = get_queue()
    queue.start()
    try:
        token = f"check-{time.time_ns()}"
        job = queue.enqueue("hitl_studio.queue.jobs.echo", token)
        result = queue.result(job, timeout=args.timeout)
    finally:
        queue.stop()
    if result.status is JobStatus.FINISHED and result.value == token:
        print(f"ok: a worker ran a job ({queue.health()})")
        return 0
    raise ServiceError(f"no worker ran the test job within {args.timeout:g} s (status {result.status}); start one")


def _worker(args: argparse.Namespace) -> int:
    from hitl_studio.queue.worker import run_worker

    secret_key_or_exit()
    return run_worker(settings_or_exit(), burst=args.burst, fork=args.fork)


def _scheduler(args: argparse.Namespace) -> int:
    from hitl_studio.queue.worker import run_scheduler

    secret_key_or_exit()
    return run_scheduler(settings_or_exit(), interval=args.interval)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hitl_studio", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=_migrate)

    admin = commands.add_parser("create-admin", help="create the first admin (or promote a user)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.add_argument("--reset-password", action="store_true", help="also set the password of an existing user")
    admin.set_defaults(handler=_create_admin)

    key = commands.add_parser("create-api-key", help="create an API key and print it once")
    key.add_argument("--email", required=True, help="the user the key acts as")
    key.add_argument("--name", required=True, help="what the key is for, e.g. the agent's name")
    key.set_defaults(handler=_create_api_key)

    rotate = commands.add_parser(
        "rotate-key",
        help="re-encrypt every stored secret under HITL_SECRET_KEY (the old key in HITL_SECRET_KEY_PREVIOUS)",
    )
    rotate.add_argument("--batch-size", type=_positive, default=100, help="rows per transaction (default 100)")
    rotate.set_defaults(handler=_rotate_key)

    worker = commands.add_parser("worker", help="run an RQ worker (queue mode)")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--fork", action="store_true", help="run each job in a fresh child process")
    worker.set_defaults(handler=_worker)

    check = commands.add_parser("queue-check", help="enqueue a test job and wait for a worker to run it")
    check.add_argument("--timeout", type=float, default=10.0)
    check.set_defaults(handler=_queue_check)

    scheduler = commands.add_parser("scheduler", help="run the scheduler for delayed and cron jobs (queue mode)")
    scheduler.add_argument("--interval", type=int, default=1, help="seconds between checks for due jobs")
    scheduler.set_defaults(handler=_scheduler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(settings_or_exit())
    try:
        return int(args.handler(args))
    except ServiceError as err:
        detail = "; ".join(f"{field}: {problem}" for field, problem in err.field_errors.items())
        print(f"error: {err.message}" + (f" ({detail})" if detail else ""), file=sys.stderr)
        return 1
