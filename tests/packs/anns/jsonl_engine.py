#!/usr/bin/env python3
"""A complete external engine speaking perflab's JSON-lines protocol (docs/anns-plugins.md).

Exact search in numpy, so the test can demand recall 1.0. ``--fail-at OP`` makes it die (exit 7) when it
receives OP, ``--hang-at OP`` makes it sleep forever there: the harness must record both and carry on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-at")
    parser.add_argument("--hang-at")
    args = parser.parse_args()
    data = np.zeros((0, 0), dtype=np.float32)
    metric = "euclidean"
    for line in sys.stdin:
        msg = json.loads(line)
        op = msg["op"]
        if op == args.fail_at:
            os._exit(7)
        if op == args.hang_at:
            while True:
                time.sleep(60)
        reply: dict = {"ok": True}
        if op == "hello":
            metric = msg["metric"]
            reply = {"name": "jsonl-exact", "run_mode": "emulation in Python", "version": "1.0",
                     "algorithm": "flat (numpy)", "search_param": None, "sweep": [None], "supports_add": True}
        elif op == "build":
            data = np.fromfile(msg["path"], dtype="<f4").reshape(msg["n"], msg["dim"])
        elif op == "add":
            data = np.vstack([data, np.asarray(msg["vector"], dtype=np.float32)[None, :]])
        elif op == "search":
            q = np.asarray(msg["vector"], dtype=np.float32)
            d = -(data @ q) if metric == "angular" else np.linalg.norm(data - q, axis=1)
            reply = {"ids": np.argsort(d, kind="stable")[:msg["k"]].tolist()}
        elif op == "save":
            reply = {"bytes": None}
        elif op == "close":
            print(json.dumps(reply), flush=True)
            return 0
        elif op != "set_param":
            reply = {"error": f"unknown op {op}"}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
