"""Git facts about the tree an experiment runs in, and private checkouts of other revisions.

A revision is checked out with ``git worktree add --detach`` into a private directory under the state dir,
so the user's own checkout (its files, index and branch) is never touched; the worktree is removed after.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.fsutil import ensure_private_dir

GIT_TIMEOUT_S = 60.0


def _git(root: Path, *args: str, check: bool = True, timeout: float = GIT_TIMEOUT_S) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise PerflabError("git is not installed (needed for --rev and the experiment's commit)") from None
    except subprocess.TimeoutExpired:
        raise PerflabError(f"git {' '.join(args)} timed out after {timeout:g} s in {root}") from None
    if check and done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise PerflabError(f"git {' '.join(args)} failed in {root}: {reason}")
    return done.stdout


def git_state(cwd: Path) -> dict[str, Any] | None:
    """Commit, branch, dirty flag and top-level directory; None outside a git work tree with commits."""
    try:
        root = Path(_git(cwd, "rev-parse", "--show-toplevel").strip())
        commit = _git(cwd, "rev-parse", "HEAD").strip()
    except PerflabError:
        return None
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD", check=False).strip() or None
    dirty = bool(_git(cwd, "status", "--porcelain", "--untracked-files=no").strip())
    return {
        "root": str(root),
        "commit": commit,
        "branch": None if branch == "HEAD" else branch,
        "dirty": dirty,
    }


def resolve_rev(root: Path, rev: str) -> str:
    if rev.startswith("-"):
        raise PerflabError(f"revision {rev!r}: a revision cannot start with '-'")
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()
    return found or _missing(rev)


def _missing(rev: str) -> str:
    raise PerflabError(f"revision {rev!r}: no such commit")


def diff(root: Path, base: str, rev: str | None) -> tuple[str, str]:
    """The patch from ``base`` to ``rev`` (or to the working tree) and its SHA-256."""
    args = ["diff", "--binary", base] + ([rev] if rev else [])
    patch = _git(root, *args)
    return patch, hashlib.sha256(patch.encode()).hexdigest()


def add_worktree(root: Path, commit: str, path: Path) -> None:
    """A detached worktree of ``commit`` at ``path``; the user's checkout and branches stay untouched."""
    _git(root, "worktree", "add", "--detach", "--quiet", str(path), commit)


def remove_worktree(root: Path, path: Path) -> None:
    """Remove a worktree made by ``add_worktree`` and forget it in ``root`` (never fails: a cleanup)."""
    _git(root, "worktree", "remove", "--force", str(path), check=False)
    shutil.rmtree(path, ignore_errors=True)
    _git(root, "worktree", "prune", check=False)


@contextlib.contextmanager
def private_checkout(root: Path, commit: str, state_dir: Path, patches: list[str] = ()) -> Iterator[Path]:
    """A detached worktree of ``commit`` (with ``patches`` applied), removed on exit."""
    ensure_private_dir(state_dir)
    where = Path(tempfile.mkdtemp(prefix="worktree-", dir=state_dir))
    path = where / "tree"
    add_worktree(root, commit, path)
    try:
        for k, patch in enumerate(patches):
            if not patch.strip():
                continue
            patch_file = where / f"patch-{k}.diff"
            patch_file.write_text(patch)
            done = subprocess.run(
                ["git", "-C", str(path), "apply", "--whitespace=nowarn", str(patch_file)],
                capture_output=True,
                text=True,
                check=False,
                timeout=GIT_TIMEOUT_S,
            )
            if done.returncode != 0:
                reason = (done.stderr.strip().splitlines() or ["no message"])[0]
                raise PerflabError(f"the changes do not apply together on {commit[:12]}: {reason}")
        yield path
    finally:
        remove_worktree(root, path)
        shutil.rmtree(where, ignore_errors=True)


def run_build(build: str | None, cwd: Path, timeout_s: float = 1800.0) -> None:
    """Run the experiment's build command in ``cwd`` (argv split like a shell; ``sh -c`` if you need one)."""
    if not build:
        return
    import shlex

    argv = shlex.split(build)
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False, env={**os.environ}
        )
    except FileNotFoundError:
        raise PerflabError(f"build command {build!r}: {argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise PerflabError(f"build command {build!r} timed out after {timeout_s:g} s in {cwd}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PerflabError(f"build command {build!r} failed in {cwd} (exit {done.returncode}): {tail[0]}")
