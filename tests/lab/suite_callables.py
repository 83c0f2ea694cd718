"""Callables for the in-process suite tests."""

import os


def small_sum() -> int:
    return sum(range(200))


def env_sized(path: str | None = None) -> int:
    """Work that depends on an environment variable, so an env variant changes the per-call time."""
    return sum(range(int(os.environ.get("SUITE_WORK", "100"))))
