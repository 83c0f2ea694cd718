"""A workload that is really slower unless a given congestion control is the system default.

It reads /proc/sys/net/ipv4/tcp_congestion_control at start and sleeps 290 ms extra when that is not
argv[1]: a deterministic, real effect of a real system setting, so `tune try --keep-if-better` has
something it must keep (or must not keep).
"""

import sys
import time
from pathlib import Path

current = Path("/proc/sys/net/ipv4/tcp_congestion_control").read_text().strip()
time.sleep(0.01 if current == sys.argv[1] else 0.3)
print(f"cc={current}")
