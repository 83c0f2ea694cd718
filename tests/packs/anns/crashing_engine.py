"""A Python-class plug-in (module:Class) that kills its worker in build, as a segfault in C would."""

from __future__ import annotations

import os
import signal

from perflab.packs.anns.engines.base import EMBEDDED, Engine


class SegfaultingEngine(Engine):
    name = "segfaulting"
    run_mode = EMBEDDED

    def build(self, vectors, capacity):  # noqa: ANN001, ANN201 - the plug-in interface, typed in base
        os.kill(os.getpid(), signal.SIGSEGV)

    def search(self, vector, k):  # noqa: ANN001, ANN201
        return []
