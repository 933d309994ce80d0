"""Starting a real studio (``reflex run``) on free ports for browser tests."""

from __future__ import annotations

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
            if httpx.get(pending[0], timeout=5).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(1)


@contextmanager
def running_studio(data_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Studio]:
    """Migrate a fresh database in ``data_dir`` and serve the studio until the block ends."""
    frontend_port, backend_port = free_port(), free_port()
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
            "HITL_FRONTEND_PORT": str(frontend_port),
            "HITL_BACKEND_PORT": str(backend_port),
            **(extra_env or {}),
        }
    )
    subprocess.run(
        [sys.executable, "-m", "hitl_studio", "migrate"], cwd=REPO_ROOT, env=env, check=True, capture_output=True
    )
    studio = Studio(
        url=f"http://localhost:{frontend_port}",
        api_url=f"http://localhost:{backend_port}",
        admin_email="admin@example.com",
        admin_password="correct-horse-battery",
        log_path=log_path,
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(venv_bin / "reflex"), "run", "--loglevel", "info"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_up(process, studio)
            yield studio
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
