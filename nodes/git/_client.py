"""Running the git command line for the Git node: confined to the files folder, non-interactive, time-limited.

Every call is ``git`` with a list of arguments (never a shell), a scrubbed environment and settings that
keep git from running anything a repository's files could name (hooks, fsmonitor, ``ext::`` remotes) or
from asking anyone for anything. A token reaches a remote as an ``Authorization`` header scoped to that
remote's origin, passed through the environment so it never shows in the process list or ``.git/config``.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from nodes.files.disk import _inside
from nodes.git.credentials import GitTokenFields
from nodes.sdk import NodeError

GIT_TIMEOUT_SECONDS = 120.0
REMOTE_SCHEMES = ("https", "http", "ssh", "git")
_SCP_LIKE = re.compile(r"^[\w.+-]+@[\w.-]+:(?!//)")
"""``git@github.com:owner/repo.git``: ssh in scp's syntax."""
_TRANSPORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
"""``ext::cmd`` and other remote-helper addresses, which can run programs."""
_HINT = re.compile(r"^hint: ?", re.MULTILINE)

SAFE_SETTINGS = (
    # Hooks and fsmonitor are programs a repository's files name; workflows may write those files.
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "protocol.ext.allow=never",
    # The machine's stored logins are not the workflow's to use; a token comes from a credential.
    "credential.helper=",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "core.pager=cat",
    "color.ui=false",
    "advice.detachedHead=false",
)


@dataclass(frozen=True)
class Identity:
    """Who commits: set as both author and committer."""

    name: str
    email: str


@dataclass(frozen=True)
class Remote:
    """A remote as git should be given it: a URL, or the absolute path of a repository under the files folder."""

    address: str
    shown: str
    """How messages and outputs show it: a URL without any user or password in it."""
    origin: str | None
    """``scheme://host[:port]/`` for http(s) remotes: where a token may be sent."""


class GitFailed(Exception):
    """Git exited with an error; carries what it said."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(stderr or stdout)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def repository_path(root: Path, path: str, index: int) -> Path:
    """``path`` under the files folder, as an absolute path (see ``nodes.files.disk``)."""
    return _inside(root, path.strip() or ".", index)


def remote(root: Path, raw: str, index: int) -> Remote:
    """Check a clone source or remote URL: network URLs as they are, local repositories only under the files folder.

    Raises:
        NodeError: The address is a remote-helper one, or a local path outside the files folder.
    """
    address = raw.strip()
    if not address or address.startswith("-") or any(char in address for char in "\r\n\x00"):
        raise NodeError(
            f"item {index}: {raw!r} is not a repository address",
            description="Give a URL (https://..., ssh://..., git@host:path) or a repository's folder.",
            item_index=index,
        )
    scheme = urlsplit(address).scheme.lower() if "://" in address else ""
    if scheme in REMOTE_SCHEMES:
        parts = urlsplit(address)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        shown = parts._replace(netloc=netloc).geturl()
        origin = f"{scheme}://{netloc}/" if scheme in ("http", "https") else None
        return Remote(address, shown, origin)
    if _SCP_LIKE.match(address):
        return Remote(address, address, None)
    if _TRANSPORT.match(address) or (scheme and scheme != "file"):
        raise NodeError(
            f"item {index}: {address!r} uses a transport this node does not allow",
            description="Use an https://, http://, ssh:// or git:// URL, git@host:path, or a repository's folder.",
            item_index=index,
        )
    local = urlsplit(address).path if scheme == "file" else address
    found = _inside(root, local, index)
    if not found.is_dir():
        raise NodeError(
            f"item {index}: there is no repository at {address!r}",
            description=f"Local repositories are folders under the files folder {root}.",
            item_index=index,
        )
    # A file:// URL makes git transfer like over the network (so --depth works); a path lets it copy.
    return Remote(found.as_uri() if scheme == "file" else str(found), address, None)


def token_settings(targets: Sequence[Remote], fields: GitTokenFields, index: int) -> dict[str, str]:
    """The environment that makes git send the token to the remotes' origins, and to nothing else.

    Raises:
        NodeError: A remote is not http(s), or is plain http to another machine (the token would travel readable).
    """
    origins: list[str] = []
    for target in targets:
        if target.origin is None:
            raise NodeError(
                f"item {index}: a token only works with https remotes, not {target.shown!r}",
                description="Use the remote's https URL, or set Authentication to none (ssh uses the machine's keys).",
                item_index=index,
            )
        host = urlsplit(target.origin).hostname or ""
        if target.origin.startswith("http://") and not _loopback(host):
            raise NodeError(
                f"item {index}: the token would travel unencrypted to {target.shown!r}",
                description="Use the remote's https:// URL.",
                item_index=index,
            )
        if target.origin not in origins:
            origins.append(target.origin)
    basic = base64.b64encode(f"{fields.username}:{fields.token}".encode()).decode("ascii")
    settings = {"GIT_CONFIG_COUNT": str(len(origins))}
    for number, origin in enumerate(origins):
        settings[f"GIT_CONFIG_KEY_{number}"] = f"http.{origin}.extraHeader"
        settings[f"GIT_CONFIG_VALUE_{number}"] = f"Authorization: Basic {basic}"
    return settings


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _environment(ceiling: Path, identity: Identity | None, extra: Mapping[str, str]) -> dict[str, str]:
    # Inherited GIT_* variables (GIT_DIR, GIT_WORK_TREE...) would point git elsewhere.
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GIT_SSH_COMMAND="ssh -o BatchMode=yes",
        # Never look above the repository's own folder for a .git (the studio's checkout may be up there).
        GIT_CEILING_DIRECTORIES=str(ceiling),
        LC_ALL="C",
    )
    if identity is not None:
        env.update(
            GIT_AUTHOR_NAME=identity.name,
            GIT_AUTHOR_EMAIL=identity.email,
            GIT_COMMITTER_NAME=identity.name,
            GIT_COMMITTER_EMAIL=identity.email,
        )
    env.update(extra)
    return env


def run_git(
    arguments: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    identity: Identity | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run ``git <arguments>`` in ``cwd`` and return what it printed.

    Raises:
        GitFailed: Git exited with an error.
        subprocess.TimeoutExpired: It ran out of time (and was killed).
    """
    command = ["git", *(part for setting in SAFE_SETTINGS for part in ("-c", setting)), *arguments]
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=_environment(cwd.parent, identity, env or {}),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if completed.returncode != 0:
        raise GitFailed(completed.returncode, completed.stdout, completed.stderr)
    return completed.stdout


def explain(err: GitFailed, secrets: Sequence[str] = ()) -> tuple[str, str]:
    """What git said, as (its errors on one line, its hints): ``fatal:``/``error:`` lines first."""
    text = err.stderr.strip() or err.stdout.strip()
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    hints = " ".join(_HINT.sub("", line) for line in lines if line.startswith("hint:"))
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    if not errors:
        # Without an error line (commit's "nothing to commit"), git's summary is its last line.
        errors = [line for line in lines if not line.startswith("hint:")][-1:]
    said = "; ".join(re.sub(r"^(fatal|error): ", "", line) for line in errors[:3])
    return said or f"git exited with status {err.returncode}", hints
