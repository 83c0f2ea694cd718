"""The measurement engine: runs commands and records what happened; knows nothing of the CLI.

- ``executor``: one way of running a process per class behind ``Executor.run(RunSpec) -> Run``; the
  default goes through a small C launcher (``launcher.c``, built by ``build``) so a run's peak memory is
  the workload's own.
- ``commands``: command strings → argv, parameters, metrics, env.
- ``scheduler``: randomized interleaved blocks and the adaptive stopping rule.
- ``options``: ``BenchOptions`` and the ``Observer`` callbacks (re-exported by ``runner``).
- ``runner``: ``run_benchmark`` (a whole benchmark: stop rule, failures, Ctrl-C); usage in its docstring.
- ``measurement``: ``MeasurementSession`` (block by block, for callers that change settings between
  blocks, e.g. ``perflab tune try``), built on ``run_io`` (a run's stdin, environment, output and its
  tail read back), ``failures`` (``RunFailed`` and how a failure is told) and ``shell_cost`` (``--shell``'s
  spawn cost, measured interleaved and subtracted).
- ``progress``: a rich progress display implementing ``runner.Observer``.
"""
