"""The measurement engine: runs commands and records what happened; knows nothing of the CLI.

- ``executor``: one way of running a process per class behind ``Executor.run(RunSpec) -> Run``; the
  default goes through a small C launcher (``launcher.c``, built by ``build``) so a run's peak memory is
  the workload's own.
- ``commands``: command strings → argv, parameters, metrics, env.
- ``scheduler``: randomized interleaved blocks and the adaptive stopping rule.
- ``options``: ``BenchOptions`` and the ``Observer`` callbacks (re-exported by ``runner``).
- ``runner``: ``run_benchmark`` (a whole benchmark) and ``MeasurementSession`` (block by block, for
  callers that change settings between blocks, e.g. ``perflab tune try``); usage in its docstring.
- ``progress``: a rich progress display implementing ``runner.Observer``.
"""
