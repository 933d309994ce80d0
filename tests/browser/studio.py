"""Starting a real studio (``reflex run``) on free ports for browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
# The first start installs the frontend with npm and compiles it; later ones take seconds.
START_TIMEOUT_SECONDS = 420
START_ATTEMPTS = 2


@dataclass(frozen=True)
class Studio:
    """A running studio. It starts with no users: the ``owner`` fixture creates the admin through the UI."""

    url: str
    api_url: str
    admin_email: str
    admin_password: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(process: subprocess.Popen[bytes], studio: Studio) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    pending = [f"{studio.api_url}/api/v1/health", f"{studio.url}/login"]
    while pending:
        if process.poll() is not None:
            raise RuntimeError(f"the studio exited with {process.returncode}:\n{studio.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the studio did not answer {pending[0]} in time:\n{studio.log_tail()}")
        try:
            if httpx.get(pending[0], timeout=5, follow_redirects=True).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(1)


@contextmanager
def running_studio(data_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Studio]:
    """Migrate a fresh database in ``data_dir`` and serve the studio until the block ends."""
    # Production mode on one port: no hot reload (a file edited during the run cannot restart the
    # studio under a test), the same build users get, and a start of ~15 s once npm has installed.
    port = free_port()
    venv_bin = Path(sys.executable).parent
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HITL_", "DATABASE_URL", "REDIS_URL")) or key.startswith("HITL_TEST_")
    }
    env.update(
        {
            "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
            "REFLEX_USE_NPM": "1",
            "HITL_DATA_DIR": str(data_dir),
            "HITL_FRONTEND_PORT": str(port),
            "HITL_BACKEND_PORT": str(port),
            **(extra_env or {}),
        }
    )
    # Two checkouts' test runs at once each need their own compiled frontend.
    if web_dir := os.environ.get("HITL_TEST_WEB_WORKDIR"):
        env["REFLEX_WEB_WORKDIR"] = web_dir
    subprocess.run(
        [sys.executable, "-m", "hitl_studio", "migrate"], cwd=REPO_ROOT, env=env, check=True, capture_output=True
    )
    studio = Studio(
        url=f"http://localhost:{port}",
        api_url=f"http://localhost:{port}",
        admin_email="admin@example.com",
        admin_password="correct-horse-battery",
        log_path=log_path,
    )
    command = [
        str(venv_bin / "reflex"),
        *("run", "--env", "prod", "--single-port", "--frontend-port", str(port), "--backend-port", str(port)),
        *("--loglevel", "info"),
    ]
    for attempt in range(1, START_ATTEMPTS + 1):
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            _wait_until_up(process, studio)
            break
        except RuntimeError:
            _stop(process)
            # The production build pre-renders pages with a fixed timeout, which a busy machine can miss.
            if attempt == START_ATTEMPTS or "Prerender" not in log_path.read_text(errors="replace"):
                raise
    try:
        yield studio
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have exited on its own (a failed start)
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def admin_token(studio: Studio) -> str:
    response = httpx.post(
        f"{studio.api_url}/api/v1/auth/login", json={"email": studio.admin_email, "password": studio.admin_password}
    )
    response.raise_for_status()
    return response.json()["token"]


def ensure_user(studio: Studio, email: str, password: str, role: str) -> None:
    """Create the user through the API unless an earlier test already did."""
    response = httpx.post(
        f"{studio.api_url}/api/v1/users",
        json={"email": email, "password": password, "role": role, "name": email.split("@")[0]},
        headers={"Authorization": f"Bearer {admin_token(studio)}"},
    )
    assert response.status_code in (201, 409), response.text
