"""A small loopback TCP transfer for `tune try` tests: sends SIZE_MB over 127.0.0.1 and prints MB/s.

The congestion control of the sending socket is whatever the system default is at connect time; the
script reports it (and appends it to $CC_LOG when set) so a test can check which setting was in force;
with $FAIL_IF_CC it exits 3 under that congestion control (to test failure handling mid-trial).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

SIZE_MB = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
CHUNK = 64 * 1024


def main() -> int:
    total = int(SIZE_MB * 1024 * 1024)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = 0

    def sink() -> None:
        nonlocal received
        conn, _ = server.accept()
        with conn:
            while True:
                data = conn.recv(1 << 20)
                if not data:
                    break
                received += len(data)

    thread = threading.Thread(target=sink)
    thread.start()
    client = socket.create_connection(server.getsockname())
    cc = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode()
    payload = b"x" * CHUNK
    start = time.perf_counter()
    sent = 0
    while sent < total:
        sent += client.send(payload[: min(CHUNK, total - sent)])
    client.shutdown(socket.SHUT_WR)
    thread.join()
    elapsed = time.perf_counter() - start
    client.close()
    server.close()
    if received != total:
        print(f"short transfer: {received} of {total} bytes", file=sys.stderr)
        return 1
    if os.environ.get("FAIL_IF_CC") == cc:
        print(f"failing on purpose: congestion control is {cc}", file=sys.stderr)
        return 3
    log = os.environ.get("CC_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(cc + "\n")
    print(f"cc={cc}")
    print(f"throughput={total / elapsed / 1e6:.3f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
