"""Write reproducible test data for the compression suite: generate.py KIND SIZE SEED OUTPUT.

text: words drawn from a small vocabulary with a Zipf-like skew (compresses well); random: bytes from a
seeded generator (does not compress). The same seed always gives the same file."""

import random
import sys

kind, size, seed, output = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
if kind == "random":
    data = rng.randbytes(size)
else:
    vocabulary = [f"word{i}" for i in range(2000)]
    weights = [1.0 / (i + 1) for i in range(len(vocabulary))]
    words = rng.choices(vocabulary, weights, k=size // 5)
    data = " ".join(words).encode()[:size]
with open(output, "wb") as f:
    f.write(data)
