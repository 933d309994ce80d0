"""Git Repository: clone, status, add, commit, log, push, pull, tag and branches of repositories in the files folder.

Repositories live under the files folder (HITL_FILES_ROOT), like the files the Read/Write Files from Disk
node handles, and so do local repositories cloned from or pushed to. See ``nodes/git/_client.py`` for how
git is run: no shell, no prompts, no hooks, a time limit, and a token only ever sent to its own remote.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.files.disk import files_root
from nodes.git._client import (
    GIT_TIMEOUT_SECONDS,
    GitFailed,
    Identity,
    Remote,
    explain,
    remote,
    repository_path,
    run_git,
    token_settings,
)
from nodes.git.credentials import GitTokenCredential
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeError,
    NodeOutput,
    Parameters,
    param,
)

Operation = Literal["clone", "status", "add", "commit", "log", "push", "pull", "tag", "create_branch", "switch_branch"]
NETWORK = ("clone", "push", "pull")
WITH_BRANCH = ("push", "pull", "create_branch", "switch_branch")
WITH_IDENTITY = ("commit", "tag", "pull")
LOG_FORMAT = "%x1e" + "%x00".join(("%H", "%h", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%P", "%s", "%b"))
LOG_FIELDS = (
    "commit",
    "short_commit",
    "author_name",
    "author_email",
    "authored_at",
    "committer_name",
    "committer_email",
    "committed_at",
    "parents",
    "subject",
    "body",
)
STATES = {
    ".": "unmodified",
    "M": "modified",
    "T": "type_changed",
    "A": "added",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "U": "unmerged",
}
PUSH_FLAGS = {
    " ": "updated",
    "+": "forced",
    "-": "deleted",
    "*": "created",
    "!": "rejected",
    "=": "up_to_date",
}
LOGIN_REFUSED = ("could not read username", "authentication failed", "the requested url returned error: 401")
"""What git says when an http remote wants a login it did not get (or refused the one it got)."""
HINTS = {
    "clone": "Check the URL and your access to it; the folder must not exist yet, or be empty.",
    "push": "If the remote has commits you do not, pull first; check the remote and the token's write access.",
    "pull": "Commit or discard local changes first; with diverged branches, choose merge or rebase.",
    "commit": "Stage changes first (add), or turn on 'Stage tracked changes' or 'Allow an empty commit'.",
}


def _ref_name(value: str) -> str:
    """A branch, tag, commit or remote name as typed: refused when git could read it as an option."""
    value = value.strip()
    if value.startswith("-") or any(char.isspace() or ord(char) < 32 for char in value):
        raise ValueError(f"{value!r} is not a valid name (no leading '-', spaces or control characters)")
    return value


class GitRepositoryParameters(Parameters):
    operation: Operation = param(
        "status",
        title="Operation",
        description="clone a repository into a folder; status, add, commit, log (one item per commit); push to "
        "and pull from a remote; tag a commit; create_branch or switch_branch.",
        no_expressions=True,
    )
    repository: str = param(
        title="Repository folder",
        description="Relative to the files folder (HITL_FILES_ROOT); clone: where the copy goes (a new or "
        "empty folder).",
        placeholder="repos/website",
    )
    url: str = param(
        "",
        title="Clone from",
        description="An https://, ssh:// or git@host:path URL, or the folder of a repository under the files folder.",
        placeholder="https://github.com/octocat/hello-world.git",
        show_if={"operation": ["clone"]},
    )
    clone_branch: str = param(
        "",
        title="Branch",
        description="Check out this branch; empty: the remote's default branch.",
        show_if={"operation": ["clone"]},
    )
    depth: int | None = param(
        None,
        title="Depth",
        description="Only the last N commits (a shallow clone); empty: the whole history.",
        ge=1,
        show_if={"operation": ["clone"]},
    )
    paths: list[str] = param(
        default_factory=list,
        title="Paths",
        description="Files or folders to stage, relative to the repository; empty: every change (git add --all).",
        show_if={"operation": ["add"]},
    )
    message: str = param(
        "",
        title="Message",
        description="commit: the commit message; tag: a message makes an annotated tag, empty a lightweight one.",
        widget="textarea",
        show_if={"operation": ["commit", "tag"]},
    )
    stage_tracked: bool = param(
        False,
        title="Stage tracked changes",
        description="Commit every change to files git already tracks, without adding them first (git commit -a).",
        show_if={"operation": ["commit"]},
    )
    allow_empty: bool = param(
        False,
        title="Allow an empty commit",
        description="Commit even without changes.",
        show_if={"operation": ["commit"]},
    )
    author_name: str = param(
        "",
        title="Author name",
        description="Who the commit (or tag, or merge) is by; empty: git's configured user.name.",
        show_if={"operation": WITH_IDENTITY},
    )
    author_email: str = param(
        "",
        title="Author email",
        description="Empty: git's configured user.email.",
        show_if={"operation": WITH_IDENTITY},
    )
    ref: str = param(
        "",
        title="Start from",
        description="A branch, tag or commit; empty: the current one.",
        show_if={"operation": ["log"]},
    )
    return_all: bool = param(False, title="Return all", description="Every commit.", show_if={"operation": ["log"]})
    limit: int = param(
        20,
        title="Limit",
        description="At most this many commits.",
        ge=1,
        show_if={"operation": ["log"], "return_all": [False]},
    )
    remote: str = param(
        "origin",
        title="Remote",
        description="A remote's name, or a URL (https://, ssh://, git@host:path) or repository folder.",
        show_if={"operation": ["push", "pull"]},
    )
    branch: str = param(
        "",
        title="Branch",
        description="push and pull: empty for the current branch; create_branch: the new branch's name; "
        "switch_branch: the branch to switch to.",
        show_if={"operation": WITH_BRANCH},
    )
    set_upstream: bool = param(
        False,
        title="Set upstream",
        description="Remember the remote branch, so later pushes and pulls of this branch need no remote.",
        show_if={"operation": ["push"]},
    )
    push_tags: bool = param(False, title="Push tags too", show_if={"operation": ["push"]})
    force: bool = param(
        False,
        title="Force (with lease)",
        description="Replace the remote branch even if it has other commits, unless they are newer than the "
        "last fetch.",
        show_if={"operation": ["push"]},
        advanced=True,
    )
    pull_mode: Literal["fast_forward", "merge", "rebase"] = param(
        "fast_forward",
        title="When branches diverged",
        description="fast_forward: fail, changing nothing; merge: make a merge commit; rebase: replay local "
        "commits on top.",
        show_if={"operation": ["pull"]},
        no_expressions=True,
    )
    tag: str = param("", title="Tag", placeholder="v{{ $json.version }}", show_if={"operation": ["tag"]})
    target: str = param(
        "",
        title="Commit",
        description="create_branch: where the branch starts; tag: what it tags. A branch, tag or commit; empty: "
        "the current commit.",
        show_if={"operation": ["tag", "create_branch"]},
    )
    switch: bool = param(True, title="Switch to it", show_if={"operation": ["create_branch"]})
    authentication: Literal["none", "token"] = param(
        "none",
        title="Authentication",
        description="token: send an access token to an https remote; none: public remotes, or ssh with the "
        "machine's keys.",
        show_if={"operation": NETWORK},
        no_expressions=True,
    )

    @field_validator("clone_branch", "ref", "branch", "tag", "target")
    @classmethod
    def _names(cls, value: str) -> str:
        return _ref_name(value)

    @field_validator("url", "remote")
    @classmethod
    def _addresses(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("-") or any(ord(char) < 32 for char in value):
            raise ValueError(f"{value!r} is not a repository address (no leading '-' or control characters)")
        return value

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        if any(not path.strip() or "\x00" in path for path in value):
            raise ValueError("a path to stage cannot be empty")
        return value

    @model_validator(mode="after")
    def _needs(self) -> GitRepositoryParameters:
        needs = {
            "clone": (self.url, "a URL or folder to clone from"),
            "push": (self.remote, "a remote"),
            "pull": (self.remote, "a remote"),
            "commit": (self.message.strip(), "a message"),
            "tag": (self.tag, "a tag name"),
            "create_branch": (self.branch, "the new branch's name"),
            "switch_branch": (self.branch, "the branch to switch to"),
        }
        if self.operation in needs and not needs[self.operation][0]:
            raise ValueError(f"{self.operation} needs {needs[self.operation][1]}")
        if bool(self.author_name.strip()) != bool(self.author_email.strip()):
            raise ValueError("give both the author's name and email, or neither")
        return self


class GitRepositoryNode(Node):
    type = "git.repository"
    display_name = "Git"
    category = Category.INTEGRATION
    description = "Clones, commits, logs, pushes, pulls, tags and branches git repositories in the files folder."
    icon = "git-branch"
    Parameters = GitRepositoryParameters
    credentials = (CredentialRequirement(GitTokenCredential.id, required=False, show_if={"authentication": ["token"]}),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        root = files_root()
        produced: list[Item] = []
        for index in range(len(items)):
            params: GitRepositoryParameters = ctx.params(index)
            if not root.is_dir():
                raise NodeError(
                    f"the files folder {root} does not exist",
                    description="Create it, or set HITL_FILES_ROOT to the folder workflows may use.",
                    item_index=index,
                )
            produced.extend(Item(entry, paired_item=index) for entry in _GitItem(ctx, root, params, index).run())
        return [produced]


class _GitItem:
    """One item's operation."""

    def __init__(self, ctx: Context, root: Path, params: GitRepositoryParameters, index: int) -> None:
        self.ctx = ctx
        self.root = root
        self.params = params
        self.index = index
        self.path = repository_path(root, params.repository, index)
        self.relative = self.path.relative_to(root).as_posix()
        self.secrets: list[str] = []

    def _timeout(self) -> float:
        remaining = self.ctx.remaining_seconds()
        return GIT_TIMEOUT_SECONDS if remaining is None else max(min(remaining, GIT_TIMEOUT_SECONDS), 1.0)

    def _identity(self) -> Identity | None:
        if not self.params.author_name.strip():
            return None
        return Identity(self.params.author_name.strip(), self.params.author_email.strip())

    def git(
        self,
        *arguments: str,
        action: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        identity: Identity | None = None,
    ) -> str:
        """Run git for this item; its failure becomes a NodeError naming the item and what git said."""
        try:
            return run_git(arguments, cwd=cwd or self.path, timeout=self._timeout(), identity=identity, env=env)
        except subprocess.TimeoutExpired as err:
            raise NodeError(
                f"item {self.index}: {action} took longer than {err.timeout:g} s and was stopped",
                description="Check the remote is reachable, or raise the node's timeout.",
                item_index=self.index,
            ) from err
        except FileNotFoundError as err:
            raise NodeError(
                "git is not installed on this machine",
                description="Install git where the studio's workers run.",
                item_index=self.index,
            ) from err
        except GitFailed as err:
            rejected = [ref for ref in _push_refs(err.stdout) if ref["status"] == "rejected"]
            if rejected:
                raise NodeError(
                    f"item {self.index}: the remote rejected {rejected[0]['to']}: {rejected[0]['summary']}",
                    description=HINTS["push"],
                    item_index=self.index,
                ) from err
            said, hints = explain(err, self.secrets)
            text = (err.stderr + err.stdout).lower()
            if "please tell me who you are" in text:
                hints = "Set the author's name and email in the node."
            elif any(sign in text for sign in LOGIN_REFUSED):
                hints = (
                    "The remote refused the token: check that it is valid, may access the repository, and that "
                    "the credential's user name is the one the host expects."
                    if self.secrets
                    else "The remote wants a login: set Authentication to token and pick a Git HTTPS token credential."
                )
            raise NodeError(
                f"item {self.index}: {action} failed: {said}",
                description=hints or HINTS.get(self.params.operation, "See git's message above."),
                item_index=self.index,
            ) from err

    def quiet(self, *arguments: str) -> str | None:
        """Run a git query whose failure is an answer (no commits yet, no branch): ``None`` then."""
        try:
            return self.git(*arguments, action="asking git")
        except NodeError as err:
            if isinstance(err.__cause__, GitFailed):
                return None
            raise

    def run(self) -> list[dict[str, Any]]:
        operation = self.params.operation
        if operation == "clone":
            return [self._clone()]
        self._check_repository()
        match operation:
            case "status":
                return [self._status()]
            case "add":
                return [self._add()]
            case "commit":
                return [self._commit()]
            case "log":
                return self._log()
            case "push":
                return [self._push()]
            case "pull":
                return [self._pull()]
            case "tag":
                return [self._tag()]
            case "create_branch":
                return [self._create_branch()]
            case "switch_branch":
                return [self._switch_branch()]
        raise AssertionError(f"unhandled operation {operation!r}")

    def _check_repository(self) -> None:
        """The folder must be a repository's top folder, with its git data under the files folder too."""
        if not self.path.is_dir():
            raise NodeError(
                f"item {self.index}: there is no folder {self.relative!r} in the files folder",
                description="Clone a repository there first, or fix the folder.",
                item_index=self.index,
            )
        found = self.quiet("rev-parse", "--show-toplevel", "--absolute-git-dir")
        if found is None:
            raise NodeError(
                f"item {self.index}: {self.relative!r} is not a git repository",
                description="Clone one there first, or point the node at the repository's top folder.",
                item_index=self.index,
            )
        top, git_dir = (Path(line).resolve() for line in found.splitlines()[:2])
        if top != self.path or not git_dir.is_relative_to(self.root):
            raise NodeError(
                f"item {self.index}: {self.relative!r} is not the top folder of a repository in the files folder",
                description="Point the node at the folder that holds the repository's .git.",
                item_index=self.index,
            )

    def _head(self) -> str | None:
        """The current commit, or ``None`` in a repository without commits."""
        return (self.quiet("rev-parse", "--verify", "--quiet", "HEAD") or "").strip() or None

    def _current_branch(self) -> str | None:
        return (self.quiet("symbolic-ref", "--quiet", "--short", "HEAD") or "").strip() or None

    def _remote(self, name_or_address: str, *, push: bool) -> tuple[str, str, dict[str, str]]:
        """What to give git for the remote, how to show it, and the token's settings.

        A configured remote is passed by name, so git keeps its remote-tracking branches; its URLs are checked
        like a typed address first (local repositories only under the files folder).
        """
        names = self.git("remote", action="listing the remotes").split()
        if name_or_address not in names and not any(char in name_or_address for char in "/:\\"):
            raise NodeError(
                f"item {self.index}: the repository has no remote {name_or_address!r} "
                f"(its remotes: {', '.join(names) or 'none'})",
                description="Use one of its remotes, or give a URL or a repository folder.",
                item_index=self.index,
            )
        if name_or_address in names:
            direction = ["--push"] if push else []
            urls = self.git(
                "remote", "get-url", "--all", *direction, "--", name_or_address, action="reading the remote's URL"
            ).split()
            targets = [remote(self.root, url, self.index) for url in urls]
            return name_or_address, ", ".join(target.shown for target in targets), self._token(targets)
        target = remote(self.root, name_or_address, self.index)
        return target.address, target.shown, self._token([target])

    def _token(self, targets: list[Remote]) -> dict[str, str]:
        if self.params.authentication != "token":
            return {}
        fields = GitTokenCredential.parse(self.ctx.credential(GitTokenCredential.id))
        settings = token_settings(targets, fields, self.index)
        headers = (value for name, value in settings.items() if name.startswith("GIT_CONFIG_VALUE_"))
        self.secrets = [fields.token, *(header.removeprefix("Authorization: Basic ") for header in headers)]
        return settings

    def _clone(self) -> dict[str, Any]:
        params = self.params
        if self.path == self.root:
            raise NodeError(
                f"item {self.index}: clone needs a folder of its own inside the files folder",
                description="Set the repository folder, e.g. repos/website.",
                item_index=self.index,
            )
        source = remote(self.root, params.url, self.index)
        env = self._token([source])
        options = []
        if params.clone_branch:
            options += ["--branch", params.clone_branch]
        if params.depth:
            options += ["--depth", str(params.depth)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.git(
            "clone",
            *options,
            "--",
            source.address,
            str(self.path),
            action=f"cloning {source.shown}",
            cwd=self.path.parent,
            env=env,
        )
        return {
            "repository": self.relative,
            "url": source.shown,
            "branch": self._current_branch(),
            "commit": self._head(),
        }

    def _status(self) -> dict[str, Any]:
        output = self.git(
            "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", action="reading the status"
        )
        status: dict[str, Any] = {
            "repository": self.relative,
            "branch": None,
            "commit": None,
            "upstream": None,
            "ahead": 0,
            "behind": 0,
        }
        files: list[dict[str, Any]] = []
        entries = iter(output.split("\0"))
        for entry in entries:
            if entry.startswith("# branch.oid "):
                oid = entry.removeprefix("# branch.oid ")
                status["commit"] = None if oid == "(initial)" else oid
            elif entry.startswith("# branch.head "):
                head = entry.removeprefix("# branch.head ")
                status["branch"] = None if head == "(detached)" else head
            elif entry.startswith("# branch.upstream "):
                status["upstream"] = entry.removeprefix("# branch.upstream ")
            elif entry.startswith("# branch.ab "):
                ahead, behind = entry.removeprefix("# branch.ab ").split()
                status["ahead"], status["behind"] = int(ahead), -int(behind)
            elif entry.startswith("1 "):
                fields = entry.split(" ", 8)
                files.append(_change(fields[1], fields[8]))
            elif entry.startswith("2 "):
                fields = entry.split(" ", 9)
                files.append({**_change(fields[1], fields[9]), "original_path": next(entries)})
            elif entry.startswith("u "):
                fields = entry.split(" ", 10)
                files.append({**_change(fields[1], fields[10]), "conflicted": True})
            elif entry.startswith("? "):
                files.append({"path": entry[2:], "index": "untracked", "worktree": "untracked"})
        return {**status, "clean": not files, "files": files}

    def _add(self) -> dict[str, Any]:
        paths = self.params.paths
        if paths:
            for path in paths:
                if not (self.path / path).resolve().is_relative_to(self.path):
                    raise NodeError(
                        f"item {self.index}: {path!r} is outside the repository {self.relative!r}",
                        description="Give paths relative to the repository's folder, without '..' leading out.",
                        item_index=self.index,
                    )
            self.git("add", "--", *paths, action="staging " + ", ".join(repr(path) for path in paths))
        else:
            self.git("add", "--all", action="staging every change")
        staged = self.git("diff", "--cached", "--name-only", "-z", action="listing the staged files")
        return {"repository": self.relative, "staged": [path for path in staged.split("\0") if path]}

    def _commit(self) -> dict[str, Any]:
        params = self.params
        options = ["--all"] if params.stage_tracked else []
        if params.allow_empty:
            options.append("--allow-empty")
        identity = self._identity()
        self.git("commit", "--no-verify", *options, "--message", params.message, action="committing", identity=identity)
        shown = self.git("show", "--no-patch", "--format=%H%x00%an%x00%ae", "HEAD", action="reading the new commit")
        commit, author_name, author_email = shown.rstrip("\n").split("\0")
        return {
            "repository": self.relative,
            "commit": commit,
            "branch": self._current_branch(),
            "message": params.message,
            "author_name": author_name,
            "author_email": author_email,
        }

    def _log(self) -> list[dict[str, Any]]:
        params = self.params
        if not params.ref and self._head() is None:
            return []
        count = [] if params.return_all else [f"--max-count={params.limit}"]
        start = [params.ref] if params.ref else []
        output = self.git(
            "log", *count, f"--format={LOG_FORMAT}", "--end-of-options", *start, "--", action="reading the history"
        )
        commits = []
        for record in output.split("\x1e")[1:]:
            values = record.rstrip("\n").split("\0")
            entry: dict[str, Any] = dict(zip(LOG_FIELDS, values, strict=True))
            entry["parents"] = entry["parents"].split()
            entry["body"] = entry["body"].strip()
            commits.append({"repository": self.relative, **entry})
        return commits

    def _push(self) -> dict[str, Any]:
        params = self.params
        target, shown, env = self._remote(params.remote, push=True)
        branch = params.branch or self._current_branch()
        if branch is None:
            raise NodeError(
                f"item {self.index}: the repository is not on a branch (a detached HEAD), so there is none to push",
                description="Name the branch to push, or switch to one first.",
                item_index=self.index,
            )
        options = ["--porcelain"]
        if params.set_upstream:
            options.append("--set-upstream")
        if params.push_tags:
            options.append("--tags")
        if params.force:
            options.append("--force-with-lease")
        output = self.git("push", *options, "--", target, branch, action=f"pushing {branch} to {shown}", env=env)
        return {"repository": self.relative, "remote": shown, "branch": branch, "refs": _push_refs(output)}

    def _pull(self) -> dict[str, Any]:
        params = self.params
        target, shown, env = self._remote(params.remote, push=False)
        mode = {"fast_forward": "--ff-only", "merge": "--no-rebase", "rebase": "--rebase"}[params.pull_mode]
        before = self._head()
        branch = [params.branch] if params.branch else []
        self.git(
            "pull",
            mode,
            "--no-edit",
            "--",
            target,
            *branch,
            action=f"pulling from {shown}",
            env=env,
            identity=self._identity(),
        )
        after = self._head()
        return {
            "repository": self.relative,
            "remote": shown,
            "branch": self._current_branch(),
            "before": before,
            "after": after,
            "updated": before != after,
        }

    def _tag(self) -> dict[str, Any]:
        params = self.params
        annotated = ["--annotate", "--message", params.message] if params.message.strip() else []
        target = [params.target] if params.target else []
        self.git(
            "tag",
            *annotated,
            "--end-of-options",
            params.tag,
            *target,
            action=f"tagging {params.target or 'HEAD'} as {params.tag!r}",
            identity=self._identity(),
        )
        commit = self.git("rev-parse", "--verify", f"refs/tags/{params.tag}^{{commit}}", action="reading the tag")
        return {"repository": self.relative, "tag": params.tag, "commit": commit.strip(), "annotated": bool(annotated)}

    def _create_branch(self) -> dict[str, Any]:
        params = self.params
        start = [params.target] if params.target else []
        action = f"creating the branch {params.branch!r}"
        if params.switch:
            self.git("switch", "--create", params.branch, "--end-of-options", *start, action=action)
        else:
            self.git("branch", "--end-of-options", params.branch, *start, action=action)
        commit = self.git("rev-parse", "--verify", f"refs/heads/{params.branch}", action="reading the branch")
        return {
            "repository": self.relative,
            "branch": params.branch,
            "commit": commit.strip(),
            "switched": params.switch,
        }

    def _switch_branch(self) -> dict[str, Any]:
        self.git("switch", "--end-of-options", self.params.branch, action=f"switching to {self.params.branch!r}")
        return {"repository": self.relative, "branch": self._current_branch(), "commit": self._head()}


def _change(states: str, path: str) -> dict[str, Any]:
    return {"path": path, "index": STATES.get(states[0], states[0]), "worktree": STATES.get(states[1], states[1])}


def _push_refs(output: str) -> list[dict[str, str]]:
    """``git push --porcelain``'s ref lines: ``<flag>\\t<from>:<to>\\t<summary>``."""
    refs = []
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and len(parts[0]) == 1 and ":" in parts[1]:
            source, _, destination = parts[1].partition(":")
            refs.append(
                {
                    "status": PUSH_FLAGS.get(parts[0], parts[0]),
                    "from": source,
                    "to": destination,
                    "summary": parts[2].strip(),
                }
            )
    return refs
