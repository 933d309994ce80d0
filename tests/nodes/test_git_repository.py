"""Git (git.repository) run through the engine on repositories in a temporary files folder.

Remotes are bare repositories in the same folder, and a smart-HTTP server on 127.0.0.1 (git's own
``git http-backend`` behind a handler that checks the token) stands in for an https host: no network.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.serving import FakeServer, serve
from tests.nodes.integrations import failure, host_for, outputs, run_node

TOKEN = "glpat-test0123456789"
IDENTITY = {"author_name": "Ada Lovelace", "author_email": "ada@example.com"}


def git(cwd: Path, *arguments: str) -> str:
    """Run git directly (to set up and check), as a configured user would."""
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "Setup",
        "GIT_AUTHOR_EMAIL": "setup@example.com",
        "GIT_COMMITTER_NAME": "Setup",
        "GIT_COMMITTER_EMAIL": "setup@example.com",
    }
    completed = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def build_template(root: Path) -> None:
    """A bare remote ``remotes/site.git`` holding two commits, and ``seed``, a clone others push from."""
    (root / "remotes").mkdir(parents=True)
    git(root / "remotes", "init", "--bare", "site.git")
    seed = root / "seed"
    git(root, "clone", str(root / "remotes" / "site.git"), str(seed))
    (seed / "README.md").write_text("# Site\n")
    git(seed, "add", "README.md")
    git(seed, "commit", "-m", "Start the site")
    (seed / "index.html").write_text("<h1>Hi</h1>\n")
    git(seed, "add", "index.html")
    git(seed, "commit", "-m", "Add the home page", "-m", "With a greeting.")
    git(seed, "push", "origin", "main")


@dataclass
class Files:
    """The files folder (HITL_FILES_ROOT): a copy of the template, its seed pointing at its own remote."""

    root: Path

    @property
    def remote(self) -> Path:
        return self.root / "remotes" / "site.git"

    def run(
        self,
        parameters: dict[str, Any],
        items: list[dict[str, Any]] | None = None,
        credential: dict[str, Any] | None = None,
        **settings: Any,
    ) -> RunResult:
        return run_node(
            "git.repository",
            parameters,
            items,
            credential_type="git_token",
            host=host_for(credential or {}),
            **settings,
        )

    def clone(self, folder: str = "work") -> Path:
        outputs(self.run({"operation": "clone", "repository": folder, "url": "remotes/site.git"}))
        return self.root / folder


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("git-template")
    build_template(root)
    return root


@pytest.fixture
def files(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Files:
    root = tmp_path / "files"
    shutil.copytree(template, root, symlinks=True)
    git(root / "seed", "remote", "set-url", "origin", str(root / "remotes" / "site.git"))
    monkeypatch.setenv("HITL_FILES_ROOT", str(root))
    return Files(root)


def test_clone_a_local_repository_into_the_files_folder(files: Files) -> None:
    (cloned,) = outputs(
        files.run(
            {"operation": "clone", "repository": "sites/{{ $json.name }}", "url": "remotes/site.git"},
            [{"name": "main-site"}],
        )
    )

    work = files.root / "sites" / "main-site"
    assert (work / "index.html").read_text() == "<h1>Hi</h1>\n"
    assert cloned == {
        "repository": "sites/main-site",
        "url": "remotes/site.git",
        "branch": "main",
        "commit": git(files.remote, "rev-parse", "main"),
    }


def test_clone_a_branch_shallowly_through_a_file_url(files: Files) -> None:
    seed = files.root / "seed"
    git(seed, "switch", "-c", "docs")
    (seed / "docs.md").write_text("docs\n")
    git(seed, "add", "docs.md")
    git(seed, "commit", "-m", "Docs")
    git(seed, "push", "origin", "docs")

    (cloned,) = outputs(
        files.run(
            {
                "operation": "clone",
                "repository": "shallow",
                "url": f"file://{files.remote}",
                "clone_branch": "docs",
                "depth": 1,
            }
        )
    )

    assert cloned["branch"] == "docs"
    assert git(files.root / "shallow", "rev-list", "--count", "HEAD") == "1"
    assert (files.root / "shallow" / "docs.md").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/etc", "'/etc' is outside the files folder"),
        ("../outside.git", "'../outside.git' is outside the files folder"),
        ("file:///etc", "'/etc' is outside the files folder"),
        ("ext::sh -c touch% /tmp/pwned", "uses a transport this node does not allow"),
        ("remotes/nothing.git", "there is no repository at 'remotes/nothing.git'"),
    ],
)
def test_clone_sources_outside_the_files_folder_are_refused(files: Files, url: str, message: str) -> None:
    error = failure(files.run({"operation": "clone", "repository": "x", "url": url}))

    assert message in error["message"]
    assert error["item_index"] == 0
    assert not (files.root / "x").exists()


def test_clone_into_a_folder_in_use_says_what_git_said(files: Files) -> None:
    (files.root / "busy").mkdir()
    (files.root / "busy" / "file.txt").write_text("x")

    error = failure(files.run({"operation": "clone", "repository": "busy", "url": "remotes/site.git"}))

    assert error["message"].startswith("item 0: cloning remotes/site.git failed: destination path '") and error[
        "message"
    ].endswith("already exists and is not an empty directory.")
    assert "the folder must not exist yet" in error["description"]


def test_the_repository_folder_stays_in_the_files_folder(files: Files) -> None:
    outside = failure(files.run({"operation": "status", "repository": "../"}))
    missing = failure(files.run({"operation": "status", "repository": "nowhere"}))
    work = files.clone()
    (work / "sub").mkdir()
    nested = failure(files.run({"operation": "status", "repository": "work/sub"}))
    plain = failure(files.run({"operation": "status", "repository": "remotes"}))

    assert outside["message"] == "'../' is outside the files folder"
    assert missing["message"] == "item 0: there is no folder 'nowhere' in the files folder"
    assert nested["message"] == "item 0: 'work/sub' is not a git repository"
    assert plain["message"] == "item 0: 'remotes' is not a git repository"


def test_status_reports_each_kind_of_change(files: Files) -> None:
    work = files.clone()
    (work / "index.html").write_text("<h1>Hello</h1>\n")
    (work / "new.txt").write_text("new\n")
    (work / "staged.txt").write_text("staged\n")
    git(work, "add", "staged.txt")
    git(work, "mv", "README.md", "READ ME.md")

    (status,) = outputs(files.run({"operation": "status", "repository": "work"}))

    assert status["branch"] == "main" and status["upstream"] == "origin/main"
    assert (status["ahead"], status["behind"], status["clean"]) == (0, 0, False)
    assert status["commit"] == git(work, "rev-parse", "HEAD")
    assert sorted(status["files"], key=lambda entry: entry["path"]) == [
        {"path": "READ ME.md", "index": "renamed", "worktree": "unmodified", "original_path": "README.md"},
        {"path": "index.html", "index": "unmodified", "worktree": "modified"},
        {"path": "new.txt", "index": "untracked", "worktree": "untracked"},
        {"path": "staged.txt", "index": "added", "worktree": "unmodified"},
    ]


def test_add_then_commit_then_log(files: Files) -> None:
    work = files.clone()
    (work / "a.txt").write_text("a\n")
    (work / "b.txt").write_text("b\n")

    (added,) = outputs(files.run({"operation": "add", "repository": "work", "paths": ["a.txt"]}))
    (committed,) = outputs(
        files.run(
            {"operation": "commit", "repository": "work", "message": "Add {{ $json.what }}", **IDENTITY},
            [{"what": "a"}],
        )
    )
    (everything,) = outputs(files.run({"operation": "add", "repository": "work"}))
    log = outputs(files.run({"operation": "log", "repository": "work", "limit": 2}))

    assert added == {"repository": "work", "staged": ["a.txt"]}
    assert committed == {
        "repository": "work",
        "commit": git(work, "rev-parse", "HEAD"),
        "branch": "main",
        "message": "Add a",
        "author_name": "Ada Lovelace",
        "author_email": "ada@example.com",
    }
    assert git(work, "log", "-1", "--format=%cn <%ce>") == "Ada Lovelace <ada@example.com>"
    assert everything["staged"] == ["b.txt"]
    assert [entry["subject"] for entry in log] == ["Add a", "Add the home page"]
    assert log[0]["commit"] == committed["commit"] and log[0]["parents"] == [log[1]["commit"]]
    assert log[1]["body"] == "With a greeting." and log[1]["author_name"] == "Setup"
    assert log[0]["authored_at"][:2] == "20" and len(log[0]["short_commit"]) >= 7


def test_commit_can_stage_tracked_changes_and_says_when_nothing_changed(files: Files) -> None:
    work = files.clone()
    (work / "index.html").write_text("changed\n")

    nothing = failure(files.run({"operation": "commit", "repository": "work", "message": "x", **IDENTITY}))
    (committed,) = outputs(
        files.run({"operation": "commit", "repository": "work", "message": "Edit", "stage_tracked": True, **IDENTITY})
    )
    (empty,) = outputs(
        files.run({"operation": "commit", "repository": "work", "message": "Mark", "allow_empty": True, **IDENTITY})
    )

    assert nothing["message"].startswith("item 0: committing failed: ")
    assert "no changes added to commit" in nothing["message"]
    assert "Stage changes first" in nothing["description"]
    assert git(work, "show", "--format=", "--name-only", committed["commit"]) == "index.html"
    assert git(work, "rev-parse", "HEAD~1") == committed["commit"] and empty["message"] == "Mark"


def test_repository_hooks_never_run(files: Files) -> None:
    work = files.clone()
    hook = work / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {files.root}/hook-ran\n")
    hook.chmod(0o755)

    outputs(files.run({"operation": "commit", "repository": "work", "message": "m", "allow_empty": True, **IDENTITY}))

    assert not (files.root / "hook-ran").exists()


def test_add_refuses_paths_outside_the_repository(files: Files) -> None:
    files.clone()

    error = failure(files.run({"operation": "add", "repository": "work", "paths": ["../seed/README.md"]}))

    assert error["message"] == "item 0: '../seed/README.md' is outside the repository 'work'"
    assert git(files.root / "seed", "status", "--porcelain") == ""


def test_log_of_all_commits_from_a_ref_and_of_an_empty_repository(files: Files) -> None:
    files.clone()
    git(files.root, "init", "empty")

    every = outputs(files.run({"operation": "log", "repository": "work", "return_all": True, "limit": 1}))
    older = outputs(files.run({"operation": "log", "repository": "work", "ref": "HEAD~1"}))
    none = outputs(files.run({"operation": "log", "repository": "empty"}))
    unknown = failure(files.run({"operation": "log", "repository": "work", "ref": "nope"}))

    assert [entry["subject"] for entry in every] == ["Add the home page", "Start the site"]
    assert [entry["subject"] for entry in older] == ["Start the site"]
    assert none == []
    assert unknown["message"].startswith("item 0: reading the history failed: ")


def test_push_sends_commits_and_tags_to_the_remote(files: Files) -> None:
    work = files.clone()
    (work / "c.txt").write_text("c\n")
    git(work, "add", "c.txt")
    git(work, "commit", "-m", "Add c")
    outputs(files.run({"operation": "tag", "repository": "work", "tag": "v1.0", "message": "First", **IDENTITY}))

    (pushed,) = outputs(files.run({"operation": "push", "repository": "work", "push_tags": True}))

    assert pushed["remote"] == str(files.remote) and pushed["branch"] == "main"
    assert {(ref["to"], ref["status"]) for ref in pushed["refs"]} == {
        ("refs/heads/main", "updated"),
        ("refs/tags/v1.0", "created"),
    }
    assert git(files.remote, "rev-parse", "main") == git(work, "rev-parse", "HEAD")
    assert git(files.remote, "cat-file", "-t", "v1.0") == "tag"
    (status,) = outputs(files.run({"operation": "status", "repository": "work"}))
    assert status["ahead"] == 0


def test_a_rejected_push_says_to_pull_first(files: Files) -> None:
    work = files.clone()
    seed = files.root / "seed"
    (seed / "other.txt").write_text("o\n")
    git(seed, "add", "other.txt")
    git(seed, "commit", "-m", "Someone else")
    git(seed, "push", "origin", "main")
    git(work, "commit", "--allow-empty", "-m", "Mine")

    error = failure(files.run({"operation": "push", "repository": "work"}))

    assert error["message"] == "item 0: the remote rejected refs/heads/main: [rejected] (fetch first)"
    assert error["description"].startswith("If the remote has commits you do not, pull first")


def test_push_a_new_branch_to_a_remote_folder_with_upstream(files: Files) -> None:
    work = files.clone()
    git(files.root / "remotes", "init", "--bare", "mirror.git")
    outputs(files.run({"operation": "create_branch", "repository": "work", "branch": "feature/x"}))

    (pushed,) = outputs(
        files.run({"operation": "push", "repository": "work", "remote": "remotes/mirror.git", "set_upstream": True})
    )

    assert pushed["refs"] == [
        {"status": "created", "from": "refs/heads/feature/x", "to": "refs/heads/feature/x", "summary": "[new branch]"}
    ]
    assert git(files.root / "remotes" / "mirror.git", "rev-parse", "feature/x") == git(work, "rev-parse", "HEAD")


def test_an_unknown_remote_name_lists_the_remotes(files: Files) -> None:
    files.clone()

    error = failure(files.run({"operation": "pull", "repository": "work", "remote": "upstream"}))

    assert error["message"] == "item 0: the repository has no remote 'upstream' (its remotes: origin)"


def test_a_remote_pointing_outside_the_files_folder_is_refused(files: Files, tmp_path: Path) -> None:
    work = files.clone()
    git(tmp_path, "init", "--bare", "elsewhere.git")
    git(work, "remote", "add", "elsewhere", str(tmp_path / "elsewhere.git"))

    error = failure(files.run({"operation": "push", "repository": "work", "remote": "elsewhere"}))

    assert error["message"] == f"'{tmp_path / 'elsewhere.git'}' is outside the files folder"
    assert git(tmp_path / "elsewhere.git", "for-each-ref") == ""


def test_pull_fast_forwards_merges_or_refuses(files: Files) -> None:
    work = files.clone()
    seed = files.root / "seed"
    (seed / "news.txt").write_text("news\n")
    git(seed, "add", "news.txt")
    git(seed, "commit", "-m", "News")
    git(seed, "push", "origin", "main")
    before = git(work, "rev-parse", "HEAD")

    (pulled,) = outputs(files.run({"operation": "pull", "repository": "work"}))
    (again,) = outputs(files.run({"operation": "pull", "repository": "work"}))

    assert pulled == {
        "repository": "work",
        "remote": str(files.remote),
        "branch": "main",
        "before": before,
        "after": git(seed, "rev-parse", "HEAD"),
        "updated": True,
    }
    assert (work / "news.txt").exists() and again["updated"] is False

    (seed / "more.txt").write_text("more\n")
    git(seed, "add", "more.txt")
    git(seed, "commit", "-m", "More")
    git(seed, "push", "origin", "main")
    git(work, "commit", "--allow-empty", "-m", "Local")
    refused = failure(files.run({"operation": "pull", "repository": "work"}))
    (merged,) = outputs(files.run({"operation": "pull", "repository": "work", "pull_mode": "merge", **IDENTITY}))

    assert (
        refused["message"].startswith("item 0: pulling from ") and "Not possible to fast-forward" in refused["message"]
    )
    assert merged["updated"] is True
    assert len(git(work, "log", "-1", "--format=%P").split()) == 2
    assert git(work, "log", "-1", "--format=%an") == "Ada Lovelace"


def test_tags_lightweight_and_annotated(files: Files) -> None:
    work = files.clone()

    (light,) = outputs(
        files.run(
            {"operation": "tag", "repository": "work", "tag": "v{{ $json.v }}", "target": "HEAD~1"}, [{"v": "0.1"}]
        )
    )
    (annotated,) = outputs(
        files.run({"operation": "tag", "repository": "work", "tag": "v1", "message": "One", **IDENTITY})
    )
    duplicate = failure(files.run({"operation": "tag", "repository": "work", "tag": "v1"}))

    assert light == {
        "repository": "work",
        "tag": "v0.1",
        "commit": git(work, "rev-parse", "HEAD~1"),
        "annotated": False,
    }
    assert annotated["commit"] == git(work, "rev-parse", "HEAD") and annotated["annotated"] is True
    assert (
        git(work, "for-each-ref", "--format=%(taggername) %(taggeremail)", "refs/tags/v1")
        == "Ada Lovelace <ada@example.com>"
    )
    assert duplicate["message"] == "item 0: tagging HEAD as 'v1' failed: tag 'v1' already exists"


def test_create_and_switch_branches(files: Files) -> None:
    work = files.clone()

    (created,) = outputs(
        files.run(
            {"operation": "create_branch", "repository": "work", "branch": "fix", "switch": False, "target": "HEAD~1"}
        )
    )
    (switched,) = outputs(files.run({"operation": "switch_branch", "repository": "work", "branch": "fix"}))
    (made,) = outputs(files.run({"operation": "create_branch", "repository": "work", "branch": "feature"}))
    bad = failure(files.run({"operation": "create_branch", "repository": "work", "branch": "a..b"}))
    unknown = failure(files.run({"operation": "switch_branch", "repository": "work", "branch": "nope"}))

    assert created == {
        "repository": "work",
        "branch": "fix",
        "commit": git(work, "rev-parse", "main~1"),
        "switched": False,
    }
    assert switched == {"repository": "work", "branch": "fix", "commit": created["commit"]}
    assert made["switched"] is True and git(work, "branch", "--show-current") == "feature"
    assert bad["message"] == "item 0: creating the branch 'a..b' failed: 'a..b' is not a valid branch name"
    assert unknown["message"].startswith("item 0: switching to 'nope' failed: invalid reference: nope")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"operation": "create_branch", "branch": "--orphan"}, "'--orphan' is not a valid name"),
        ({"operation": "tag", "tag": "v 1"}, "'v 1' is not a valid name"),
        ({"operation": "clone", "url": "--upload-pack=touch /tmp/x"}, "is not a repository address"),
        ({"operation": "commit"}, "commit needs a message"),
        ({"operation": "commit", "message": "m", "author_name": "Ada"}, "give both the author's name and email"),
    ],
)
def test_parameters_are_checked_before_git_runs(files: Files, parameters: dict[str, Any], message: str) -> None:
    error = failure(files.run({"repository": "work", **parameters}))

    assert message in error["message"]


def test_continue_on_fail_turns_the_error_into_an_item(files: Files) -> None:
    (entry,) = outputs(files.run({"operation": "status", "repository": "nowhere"}, on_error="continue"))

    assert entry["error"] == "item 0: there is no folder 'nowhere' in the files folder"


@dataclass
class SmartHttp:
    """A git host over http: ``git http-backend`` serving ``root``, behind a token check; records each request."""

    root: Path
    base_url: str
    token: str = TOKEN
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def authorization(self) -> str:
        return "Basic " + base64.b64encode(f"x-access-token:{self.token}".encode()).decode()


class GitHttpHandler(BaseHTTPRequestHandler):
    server: FakeServer[SmartHttp]

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._backend()

    def do_POST(self) -> None:
        self._backend()

    def _backend(self) -> None:
        fake = self.server.fake
        fake.requests.append({"method": self.command, "path": self.path, **dict(self.headers)})
        if self.headers.get("Authorization") != fake.authorization:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(fake.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
        }
        answer = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=True).stdout
        head, _, payload = answer.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def git_host(files: Files) -> Iterator[SmartHttp]:
    with serve(
        GitHttpHandler, lambda host, port: SmartHttp(files.root / "remotes", f"http://{host}:{port}"), name="git-http"
    ) as server:
        yield server


def test_a_token_reaches_an_https_style_remote_and_nothing_keeps_it(files: Files, git_host: SmartHttp) -> None:
    credential = {"token": TOKEN}
    url = f"{git_host.base_url}/site.git"

    served = git(files.remote, "rev-parse", "main")
    (cloned,) = outputs(
        files.run(
            {"operation": "clone", "repository": "web", "url": url, "authentication": "token"}, credential=credential
        )
    )
    work = files.root / "web"
    git(work, "commit", "--allow-empty", "-m", "Over http")
    (pushed,) = outputs(
        files.run({"operation": "push", "repository": "web", "authentication": "token"}, credential=credential)
    )

    assert cloned["url"] == url and cloned["commit"] == served
    assert pushed["refs"][0]["status"] == "updated"
    assert git(files.remote, "log", "-1", "--format=%s") == "Over http"
    authorized = [request for request in git_host.requests if request.get("Authorization")]
    assert authorized and all(request["Authorization"] == git_host.authorization for request in authorized)
    config = (work / ".git" / "config").read_text()
    assert TOKEN not in config and "extraheader" not in config.lower()


def test_a_wrong_or_missing_token_is_refused_without_showing_it(files: Files, git_host: SmartHttp) -> None:
    url = f"{git_host.base_url}/site.git"

    wrong = failure(
        files.run(
            {"operation": "clone", "repository": "web", "url": url, "authentication": "token"},
            credential={"token": "wrong-token-123"},
        )
    )
    missing = failure(files.run({"operation": "clone", "repository": "web2", "url": url}))

    assert wrong["message"].startswith(f"item 0: cloning {url} failed: ")
    assert wrong["description"].startswith("The remote refused the token")
    assert "wrong-token-123" not in str(wrong)
    assert missing["message"].startswith(f"item 0: cloning {url} failed: ")
    assert missing["description"].startswith("The remote wants a login: set Authentication to token")


def test_a_token_goes_only_over_https_or_to_this_machine(files: Files) -> None:
    credential = {"token": TOKEN}

    plain = failure(
        files.run(
            {
                "operation": "clone",
                "repository": "w",
                "url": "http://git.example.com/site.git",
                "authentication": "token",
            },
            credential=credential,
        )
    )
    local = failure(
        files.run(
            {"operation": "clone", "repository": "w", "url": "remotes/site.git", "authentication": "token"},
            credential=credential,
        )
    )

    assert plain["message"] == "item 0: the token would travel unencrypted to 'http://git.example.com/site.git'"
    assert local["message"] == "item 0: a token only works with https remotes, not 'remotes/site.git'"
