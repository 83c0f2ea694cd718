"""An engine in another process, driven over the JSON-lines protocol (docs/anns-plugins.md).

One request per line on the engine's stdin, one reply per line on its stdout; stderr is the engine's own.
Base vectors travel as a raw little-endian float32 file (row-major), queries and single inserts inline.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from perflab.packs.anns.engines.base import EXTERNAL, RUN_MODES, Settings

PROTOCOL_VERSION = 1


class EngineProcessError(RuntimeError):
    """The engine process answered with an error, broke the protocol or died."""


class ProcessEngine:
    """Adapter giving an external process the Engine interface."""

    run_mode = EXTERNAL

    def __init__(self, argv: list[str], metric: str, dim: int, settings: Settings) -> None:
        self.argv = argv
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                         bufsize=1)
        except OSError as error:
            raise EngineProcessError(f"cannot start {argv[0]}: {error.strerror}") from None
        hello = self.request({"op": "hello", "protocol": PROTOCOL_VERSION, "metric": metric, "dim": dim,
                              "settings": settings.to_dict()})
        self.name = str(hello.get("name") or argv[0])
        declared = hello.get("run_mode")
        if declared not in RUN_MODES:
            raise EngineProcessError(f"hello: run_mode {declared!r} must be one of: {'; '.join(RUN_MODES)}")
        self.run_mode = f"{declared} (via {EXTERNAL})" if declared != EXTERNAL else EXTERNAL
        self.engine_version = str(hello.get("version", "unknown"))
        self.search_param = hello.get("search_param")
        self.supports_add = bool(hello.get("supports_add", True))
        self.algorithm = str(hello.get("algorithm", ""))
        self.declared_sweep = list(hello.get("sweep") or [None])
        self.declared_parameters = dict(hello.get("parameters") or {})
        self.memory_pid = self.proc.pid  # the index lives in the engine's process, not the worker's

    def version(self) -> str:
        return self.engine_version

    def sweep(self) -> list[Any]:
        return self.declared_sweep

    def parameters(self) -> dict[str, Any]:
        return self.declared_parameters

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            code = self.proc.wait()
            raise EngineProcessError(f"engine process {self.argv[0]} exited with code {code} during "
                                     f"{message['op']!r}")
        try:
            reply = json.loads(line)
        except json.JSONDecodeError:
            raise EngineProcessError(f"{message['op']!r}: reply is not JSON: {line[:200]!r}") from None
        if not isinstance(reply, dict):
            raise EngineProcessError(f"{message['op']!r}: reply is not a JSON object: {line[:200]!r}")
        if "error" in reply:
            raise EngineProcessError(f"{message['op']!r}: engine says: {reply['error']}")
        return reply

    def build(self, vectors: np.ndarray, capacity: int) -> None:
        with tempfile.NamedTemporaryFile(prefix="perflab-anns-", suffix=".f32") as f:
            np.ascontiguousarray(vectors, dtype="<f4").tofile(f)
            f.flush()
            self.request({"op": "build", "path": f.name, "n": len(vectors), "dim": int(vectors.shape[1]),
                          "capacity": capacity})

    def add(self, vector: np.ndarray, ident: int) -> None:
        self.request({"op": "add", "id": ident, "vector": vector.tolist()})

    def set_search_param(self, value: Any) -> None:
        self.request({"op": "set_param", "value": value})

    def search(self, vector: np.ndarray, k: int) -> list[int]:
        return self.request({"op": "search", "vector": vector.tolist(), "k": k})["ids"]

    def save(self, path: Path) -> int | None:
        size = self.request({"op": "save", "path": str(path)}).get("bytes")
        return None if size is None else int(size)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(EngineProcessError):
                self.request({"op": "close"})
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
