"""What a suite prepares before measuring and undoes after: generated inputs (with their seed and
digest), git revisions built in private worktrees, and a variant's settings while its runs are made.

Nothing here touches the user's checkout: a revision is checked out with ``git worktree add --detach``
into perflab's private temporary directory and removed (``git worktree remove --force``) afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.lab import checkout
from perflab.lab.suite_spec import InputSpec, VariantSpec

BUILD_TIMEOUT_S = 1800


@dataclass
class PreparedInput:
    name: str
    path: str
    seed: int | None
    sha256: str
    bytes: int


@dataclass
class PreparedVariant:
    spec: VariantSpec
    cwd: str | None = None  # the worktree of a git revision
    commit: str | None = None
    candidate: Any = None  # lab.candidates.Candidate of a tuning profile
    vm: Any = None  # lab.suite_vm.VmVariant of a vm variant (prepared by suite_vm.prepare_vms)
    notes: list[str] = field(default_factory=list)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _run(argv: list[str], *, cwd: str | None, timeout: float, what: str) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise PerflabError(f"{what}: command not found: {argv[0]!r}") from None
    except subprocess.TimeoutExpired:
        raise PerflabError(f"{what}: timed out after {timeout:g} s") from None
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or [""]
        raise PerflabError(f"{what}: {shlex.join(argv)} exited with code {done.returncode}: {tail[0][:200]}")
    return done.stdout


def prepare_input(
    spec: InputSpec, workdir: str, suite_seed: int | None, cwd: str | None = None
) -> PreparedInput:
    """A file input as it is, or a generated one: ``generate`` runs once (argv, no shell, in ``cwd``: the
    suite file's directory) with {output}
    and {seed} substituted; the seed (given, else derived from the suite's, else random) is recorded."""
    if spec.file is not None:
        path = Path(spec.file)
        return PreparedInput(spec.name, str(path), None, _digest(path), path.stat().st_size)
    assert spec.generate is not None
    seed = (
        spec.seed
        if spec.seed is not None
        else (
            (suite_seed * 1_000_003 + sum(map(ord, spec.name))) % (1 << 31)
            if suite_seed is not None
            else secrets.randbits(31)
        )
    )
    output = Path(workdir) / f"input-{spec.name}"
    argv = [
        w.replace("{output}", str(output)).replace("{seed}", str(seed)) for w in shlex.split(spec.generate)
    ]
    _run(argv, cwd=cwd, timeout=BUILD_TIMEOUT_S, what=f"input {spec.name!r}: generate")
    if not output.is_file():
        raise PerflabError(f"input {spec.name!r}: the generate command did not write {{output}}")
    return PreparedInput(spec.name, str(output), seed, _digest(output), output.stat().st_size)


def prepare_variant(spec: VariantSpec, workdir: str) -> PreparedVariant:
    """A git revision: resolve it, check it out in a private worktree and build it there; a profile:
    load and dry-run it (knobs this machine lacks are refused before anything runs)."""
    prepared = PreparedVariant(spec)
    if spec.rev is not None:
        repo = Path(spec.repo or ".")
        try:
            commit = checkout.resolve_rev(repo, spec.rev)
            tree = str(Path(workdir) / f"rev-{spec.name}")
            checkout.add_worktree(repo, commit, Path(tree))
        except PerflabError as error:
            raise PerflabError(f"variant {spec.name!r}: {error}") from None
        prepared.cwd, prepared.commit = tree, commit
        if spec.build:
            _run(
                shlex.split(spec.build),
                cwd=tree,
                timeout=BUILD_TIMEOUT_S,
                what=f"variant {spec.name!r}: build",
            )
    if spec.profile is not None:
        from perflab.lab.candidates import candidate_from_profile, preflight

        if os.geteuid() != 0:
            raise PerflabError(f"variant {spec.name!r}: a tuning profile needs root to apply")
        (candidate,), dropped = preflight([candidate_from_profile(spec.profile)])
        prepared.candidate = candidate
        for knob, why in dropped.get(candidate.label, {}).items():
            prepared.notes.append(f"profile knob {knob} not applied here: {why}")
    return prepared


def release_variant(prepared: PreparedVariant) -> None:
    """Remove a revision's worktree (the user's checkout and branches are untouched)."""
    if prepared.cwd is not None:
        checkout.remove_worktree(Path(prepared.spec.repo or "."), Path(prepared.cwd))


@contextlib.contextmanager
def variant_in_force(prepared: PreparedVariant, *, in_process: bool) -> Iterator[None]:
    """While a variant's runs are made: its tuning profile applied through the journal (restored and read
    back after), and for in-process callables its environment variables set in this process."""
    report, originals = None, {}
    if prepared.candidate is not None:
        from perflab.lab.candidates import apply_candidate
        from perflab.system.knobs import read_values

        originals = read_values(list(prepared.candidate.settings))
        report = apply_candidate(prepared.candidate, label="suite")
    saved: dict[str, str | None] = {}
    if in_process:
        for key, value in prepared.spec.env.items():
            saved[key] = os.environ.get(key)
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        if report is not None:
            from perflab.lab.candidates import restore_candidate

            restore_candidate(report, originals)
