"""`perflab bench`: measure commands (interleaved), analyse, store, compare, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from perflab.cli._fastparse import install_plain_coercion

_ARGV_KEY = "perflab_bench_argv"
INSTRUCTIONS = "instructions"  # --metric instructions: bench.instructions.METRIC (not imported at start-up)


class _BenchCommand(TyperCommand):
    """Keeps ``-- CMD ARG...`` apart from quoted command strings, and rewrites hyperfine's argument forms
    click cannot declare (``-L NAME VALUES``, ``-S/--shell=SHELL``, ``--ignore-failure=CODES``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from perflab.cli.bench_args import rewrite

        args = list(args)
        if "--" in args:
            cut = args.index("--")
            ctx.meta[_ARGV_KEY] = args[cut + 1:]
            args = args[:cut]
            if not ctx.meta[_ARGV_KEY]:
                from perflab.errors import PerflabError

                raise PerflabError("nothing after --: perflab bench [OPTIONS] -- CMD ARG...")
        value_options = {name for p in self.params if not getattr(p, "is_flag", True) for name in p.opts}
        # hyperfine's -h: the help option names in context_settings do not reach this typer's parser
        args = ["--help" if word == "-h" and (k == 0 or args[k - 1] not in value_options) else word
                for k, word in enumerate(args)]
        install_plain_coercion([*self.params, self.get_help_option(ctx)])
        return super().parse_args(ctx, rewrite(args, value_options))


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("bench", cls=_BenchCommand,
                context_settings={"help_option_names": ["-h", "--help"]})(_with_cli_gc(bench_command))


class _CliGc:
    """Garbage collection tuned for one CLI call (a performance change only).

    The imports (SQLAlchemy, numpy, the engines) create ~10^5 long-lived objects; collections while
    importing find nothing to free, and the full collection at interpreter exit traverses all of them
    again (~0.25 s on this VM). So: no collection during set-up; before the runs the survivors are frozen
    (permanent generation) and collection is switched back on, so it only ever looks at new objects; at
    the end everything is frozen again, which makes the exit cheap."""

    def __init__(self) -> None:
        self.was_enabled = True

    def __enter__(self) -> _CliGc:
        import gc

        self.was_enabled = gc.isenabled()
        gc.disable()
        return self

    def measuring(self) -> None:
        import gc

        gc.freeze()
        if self.was_enabled:
            gc.enable()

    def __exit__(self, *exc: object) -> None:
        self.measuring()  # the same: freeze the survivors, restore the caller's setting


_cli_gc = _CliGc()


def _with_cli_gc(func: Any) -> Any:
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _cli_gc:
            return func(*args, **kwargs)

    return wrapper


def bench_command(
    ctx: typer.Context,
    commands: Annotated[list[str] | None, typer.Argument(
        metavar="COMMAND...", help="Commands to measure, each one quoted string (split like a shell splits "
        "words, run without a shell); several are compared. Or: -- CMD ARG... (one command as argv).",
        show_default=False)] = None,
    warmup: Annotated[int, typer.Option(
        "--warmup", "-w", min=0, help="Unrecorded runs per command first.")] = 1,
    runs: Annotated[int | None, typer.Option(
        "--runs", "-r", min=1, help="Exactly N runs per command (no adaptive stopping).")] = None,
    min_runs: Annotated[int | None, typer.Option(
        "--min-runs", "-m", help="Adaptive: at least N runs [10].")] = None,
    max_runs: Annotated[int | None, typer.Option(
        "--max-runs", "-M", help="Adaptive: at most N runs [1000].")] = None,
    max_time: Annotated[float | None, typer.Option(
        "--max-time", help="Adaptive: stop after S seconds of measuring (once --min-runs are done) [5].")]
    = None,
    target_precision: Annotated[float | None, typer.Option(
        "--target-precision", help="Adaptive: stop when every command's 95 % CI half-width of the median "
        "is below P × median [0.01].")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the interleaving order (recorded).")] = None,
    shell: Annotated[bool, typer.Option("--shell", help="Run commands with sh -c; the shell's spawn cost is "
                                        "measured interleaved and subtracted. -S/--shell=SHELL: another "
                                        "shell ('bash -e'); --shell=none: no shell, as -N.")] = False,
    shell_program: Annotated[str | None, typer.Option("--shell-program", hidden=True)] = None,
    no_shell: Annotated[bool, typer.Option(
        "-N", "--no-shell", help="No shell, and shell syntax passed as plain words (hyperfine's -N; "
        "without it perflab refuses | && ; > $VAR and globs outside --shell).")] = False,
    reference: Annotated[str | None, typer.Option(
        "--reference", help="Measure CMD first and compare every command with it.")] = None,
    reference_name: Annotated[str | None, typer.Option(
        "--reference-name", help="Name of the --reference command.")] = None,
    order: Annotated[str, typer.Option(
        "--order", help="interleaved (default: randomized blocks of every command) or sequential (each "
        "command's setup, warm-up, runs, cleanup in turn, as hyperfine; for commands sharing state).")]
    = "interleaved",
    min_benchmarking_time: Annotated[float | None, typer.Option(
        "--min-benchmarking-time", help="Adaptive: measure at least S seconds before stopping on "
        "precision.")] = None,
    prepare: Annotated[list[str] | None, typer.Option(
        "--prepare", "-p", help="Run before every run, not timed (once for all, or once per command).")]
    = None,
    setup: Annotated[list[str] | None, typer.Option(
        "--setup", "-s", help="Run once before a command's runs.")] = None,
    cleanup: Annotated[list[str] | None, typer.Option(
        "--cleanup", "-c", help="Run once after a command's runs.")] = None,
    conclude: Annotated[list[str] | None, typer.Option(
        "--conclude", "-C", help="Run after every run, not timed (once for all, or once per command).")]
    = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", help="Kill a run (its whole process group) after S seconds; recorded as timed out.",
        show_default="none, a run may take as long as it takes")]
    = None,
    input_file: Annotated[str | None, typer.Option(
        "--input", metavar="<path>", help="File fed to each run's stdin.")] = None,
    show_output: Annotated[bool, typer.Option(
        "--show-output", help="Show the commands' output on stdout (stderr with --json).")] = False,
    output: Annotated[str | None, typer.Option(
        "--output", metavar="WHERE", help="The commands' output: null (default), pipe, inherit (as "
        "--show-output) or a FILE.")] = None,
    env: Annotated[list[str] | None, typer.Option(
        "--env", "-e", help="KEY=VALUE for the runs (repeatable).")] = None,
    name: Annotated[list[str] | None, typer.Option(
        "--name", "--command-name", "-n", help="Name per command (repeatable: one for all, one per "
        "command, or one per benchmark after parameter expansion).")] = None,
    parameter_list: Annotated[list[str] | None, typer.Option(
        "--parameter-list", "-L", metavar="NAME VALUES",
        help="Run with {NAME} = each comma-separated value (repeatable; cartesian product).")] = None,
    parameter_scan: Annotated[tuple[str, str, str] | None, typer.Option(
        "--parameter-scan", "-P", metavar="NAME LO HI", help="{NAME} = LO, LO+step, … HI.")] = None,
    step: Annotated[str | None, typer.Option(
        "--step", "--parameter-step-size", "-D", help="Step of --parameter-scan [1].")] = None,
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", help="NAME=REGEX[:UNIT[:higher|lower]]: a number parsed from each run's output "
        "(first capture group), analysed like time. --metric instructions: each command's instruction "
        "count (perf stat where the CPU has counters, else valgrind: simulated), in separate untimed "
        "runs of the first 6 runs, as in suites.")] = None,
    ignore_failure: Annotated[bool, typer.Option(
        "--ignore-failure", "-i", help="Keep going when a run fails (=CODES: only these exit codes, e.g. "
        "--ignore-failure=1,2); failed runs are reported apart, not in the statistics.")] = False,
    ignore_failure_codes: Annotated[str | None, typer.Option("--ignore-failure-codes", hidden=True)] = None,
    keep_children: Annotated[bool, typer.Option(
        "--keep-children", help="Leave processes a run starts in the background running (by default "
        "they are killed when the run ends and counted in a 'left N processes running' note).")] = False,
    pin: Annotated[str | None, typer.Option("--pin", help="Pin the runs to CPUS (e.g. 0-1,3).")] = None,
    nice: Annotated[int | None, typer.Option("--nice", help="Nice value of the runs.")] = None,
    sched: Annotated[str | None, typer.Option("--sched", help="Scheduling policy, e.g. fifo:10.")] = None,
    membind: Annotated[str | None, typer.Option("--membind", help="Bind memory to NUMA NODES.")] = None,
    interleave: Annotated[str | None, typer.Option(
        "--interleave", help="Interleave memory on NODES.")] = None,
    thp: Annotated[str | None, typer.Option(
        "--thp", help="'never': no transparent huge pages for the runs.")] = None,
    no_aslr: Annotated[bool, typer.Option("--no-aslr", help="Disable address-space randomization.")] = False,
    export_json: Annotated[str | None, typer.Option(
        "--export-json", metavar="<path>", help="Write hyperfine-schema JSON.")] = None,
    export_markdown: Annotated[str | None, typer.Option(
        "--export-markdown", metavar="<path>", help="Write a markdown table.")] = None,
    export_csv: Annotated[str | None, typer.Option(
        "--export-csv", metavar="<path>", help="Write CSV.")] = None,
    export_asciidoc: Annotated[str | None, typer.Option(
        "--export-asciidoc", metavar="<path>", help="Write an AsciiDoc table.")] = None,
    export_orgmode: Annotated[str | None, typer.Option(
        "--export-orgmode", metavar="<path>", help="Write an Emacs org-mode table ('-': stdout, for "
        "every export).")] = None,
    sort: Annotated[str, typer.Option(
        "--sort", help="Table order: auto or command (as given), mean-time (fastest median first).")]
    = "auto",
    style: Annotated[str, typer.Option(
        "--style", help="auto, full, basic (no colour, no progress), nocolor, color, none (no output).")]
    = "auto",
    time_unit: Annotated[str | None, typer.Option(
        "--time-unit", "-u", help="Unit of the table: microsecond, millisecond or second.")] = None,
    save_baseline: Annotated[str | None, typer.Option(
        "--save-baseline", help="Save the result as baseline NAME.")] = None,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="Compare with stored baseline NAME.")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default $PERFLAB_DB or "
                                           "sqlite:///.perflab/perflab.db).")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level of verdicts.")] = 0.05,
    noise: Annotated[float, typer.Option(
        "--noise", help="Noise band: changes within ±NOISE are no change.")] = 0.01,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no table.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the result (with its analysis) as JSON.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", "-V", is_eager=True, help="Print the version.")] = False,
) -> None:
    """Measure commands: warm-up, interleaved randomized blocks, adaptive run count, wall/user/sys time,
    the workload's own peak memory and custom metrics; every result is stored. Takes hyperfine's options
    (alias hyperfine='perflab bench' works).

    Example: perflab bench --warmup 3 'gzip -k -f data' 'zstd -k -f data' --export-json -"""
    if version:
        from perflab import __version__

        typer.echo(f"perflab {__version__}")
        return
    from perflab.bench.options import BenchOptions
    from perflab.bench.scheduler import RunCount
    from perflab.cli.bench_args import View, ignore_failure_option, output_target, shell_spec
    from perflab.errors import PerflabError
    from perflab.lab.bench_session import BenchRequest, BenchSession
    from perflab.report.reporters import JsonReporter, TerminalReporter, export_reporters

    shell_choice, literal = shell_spec(shell, shell_program, no_shell)
    command_list = _commands(ctx, commands, name=name, shell=shell_choice, literal=literal,
                             parameter_list=parameter_list, parameter_scan=parameter_scan, step=step,
                             hooks={"prepare": prepare, "setup": setup, "cleanup": cleanup,
                                    "conclude": conclude},
                             reference=reference, reference_name=reference_name)
    if runs is not None and (min_runs is not None or max_runs is not None):
        raise PerflabError("--runs fixes the run count; it cannot be combined with --min-runs/--max-runs")
    defaults = RunCount()
    min_time = min_benchmarking_time or 0.0
    count = RunCount(runs=runs, min_runs=min_runs if min_runs is not None else defaults.min_runs,
                     max_runs=max_runs if max_runs is not None else max(defaults.max_runs, min_runs or 0),
                     max_time_s=max(max_time if max_time is not None else defaults.max_time_s, min_time),
                     target_precision=target_precision if target_precision is not None
                     else defaults.target_precision, min_time_s=min_time)
    view = View.from_options(style=style, sort=sort, time_unit=time_unit, quiet=quiet)
    show_output, output = output_target(show_output, output)
    # str options (a Path annotation costs a pydantic adapter per call); same checks as before
    exports = [(Path(p) if p is not None else None, fmt) for p, fmt in
               ((export_json, "json"), (export_markdown, "markdown"), (export_csv, "csv"),
                (export_asciidoc, "asciidoc"), (export_orgmode, "orgmode"))]
    for path, _fmt in exports:
        if path is not None and str(path) != "-" and not path.parent.resolve().is_dir():
            raise PerflabError(f"cannot export to {path}: directory {path.parent} does not exist")
    options = BenchOptions(
        count=count, warmup=warmup, seed=seed, timeout_s=timeout,
        input_path=str(Path(input_file)) if input_file is not None else None, show_output=show_output,
        env=_parse_env(env), shell=shell_choice, ignore_failure=ignore_failure_option(ignore_failure,
                                                                                   ignore_failure_codes),
        order=order, output=output, keep_children=keep_children,
        metrics=_parse_metrics([m for m in metric or [] if m != INSTRUCTIONS]),
        tuning=_process_tuning(pin=pin, nice=nice, sched=sched, membind=membind, interleave=interleave,
                               thp=thp, no_aslr=no_aslr),
    )
    request = BenchRequest(command_list, options, alpha=alpha, noise=noise, baseline=baseline,
                           save_baseline=save_baseline, instructions=INSTRUCTIONS in (metric or []))

    request.validate()  # before the store is opened: a bad option leaves nothing behind

    from perflab.store.db import Store

    store = Store.open(db)  # a bad URL fails before anything is measured
    session = BenchSession(request, store)  # an unknown baseline, too

    files = export_reporters(exports, time_unit=view.time_unit, sort=view.sort)
    reporters: list[Any] = list(files)
    if as_json:
        reporters.append(JsonReporter())
    if view.quiet:  # no progress and no table: rich (~40 ms of imports) is not needed
        import contextlib

        from perflab.bench.options import Observer

        observing: Any = contextlib.nullcontext(Observer())
        notice: Any = _plain_notice
    else:
        from rich.console import Console

        from perflab.bench.progress import ProgressObserver

        err_console = Console(stderr=True, no_color=view.no_color or None, force_terminal=view.force_color)
        out_console = Console(no_color=view.no_color or None, force_terminal=view.force_color)
        reporters.append(TerminalReporter(err_console if as_json else out_console, time_unit=view.time_unit,
                                          sort=view.sort))
        observing = ProgressObserver(err_console, enabled=view.progress,
                                     output_console=None if as_json else out_console)

        def notice(text: str) -> None:
            err_console.print(text, highlight=False, markup=False)

    _cli_gc.measuring()
    with observing as observer:
        session.measure(observer)
    outcome = session.conclude(reporters)
    for text in outcome.notices:
        notice(f"perflab: {text}")
    for reporter in files:
        notice(f"{reporter.fmt} export written to {reporter.where}")
    bench, bench_id = outcome.benchmark, outcome.bench_id
    if outcome.spill_path is not None:
        raise PerflabError(f"{outcome.save_error}; the {outcome.measured_runs} runs measured are kept in "
                           f"{outcome.spill_path} (perflab show/compare read it)")
    where = f"saved as #{bench_id}" if bench_id is not None else "not stored"
    if bench.status == "complete":  # failures and interrupts name the id in their error line
        notice(f"saved as #{bench_id} in {outcome.store_url}"
               + (f" (baseline {save_baseline!r})" if save_baseline else ""))
    if bench.status == "failed":
        from perflab.cli.hints import bench_failure_hints

        hints = bench_failure_hints(bench.settings.get("failure_remedies", ()))
        raise PerflabError(f"{bench.message}{hints} (the {outcome.measured_runs} runs measured are {where})")
    if bench.status == "interrupted":
        # PerflabError, not typer.Exit: with standalone_mode=False click drops Exit's code
        sigterm = "SIGTERM" in (bench.message or "")
        cause = "SIGTERM" if sigterm else "Ctrl-C"
        raise PerflabError(f"interrupted by {cause}; the {outcome.measured_runs} runs measured are {where}",
                           exit_code=143 if sigterm else 130)


def _commands(ctx: typer.Context, commands: list[str] | None, *, name: list[str] | None,
              shell: bool | list[str], literal: bool, parameter_list: list[str] | None,
              parameter_scan: tuple[str, str, str] | None, step: str | None,
              hooks: dict[str, list[str] | None], reference: str | None,
              reference_name: str | None) -> list[Any]:
    """The command strings (or the argv after --) with their parameters expanded."""
    from perflab.bench.commands import expand, parse_parameter_list, parse_parameter_scan
    from perflab.cli.bench_args import SEP
    from perflab.errors import PerflabError

    argv_command = ctx.meta.get(_ARGV_KEY)
    templates = list(commands or [])
    if argv_command is not None and templates:  # an empty argv after -- is refused in parse_args
        raise PerflabError("give commands either as quoted strings or after --, not both")
    parameters = []
    for item in parameter_list or []:
        key, sep, values = item.partition(SEP)
        if not sep:
            raise PerflabError(f"--parameter-list {item}: expected two values, NAME and a,b,c")
        parameters.append(parse_parameter_list(key, values))
    if parameter_scan is not None:
        parameters.append(parse_parameter_scan(*parameter_scan, step))
    elif step is not None:
        raise PerflabError("--step needs --parameter-scan")
    if argv_command is None and not templates:
        from perflab.cli.help import usage_error

        usage_error(ctx, "no command to measure: perflab bench 'CMD' … or perflab bench -- CMD ARG…")
    return expand([argv_command] if argv_command is not None else templates, names=name or [],
                  shell=shell, literal=literal, parameters=parameters, reference=reference,
                  reference_name=reference_name, **{k: v or [] for k, v in hooks.items()})


def _parse_env(items: list[str] | None) -> dict[str, str]:
    from perflab.bench.commands import parse_env

    return parse_env(items or [])


def _parse_metrics(items: list[str] | None) -> list[Any]:
    from perflab.bench.commands import parse_metric

    return [parse_metric(m) for m in items or []]


def _process_tuning(*, no_aslr: bool, **settings: Any) -> Any:
    """A ProcessTuning when any of --pin/--nice/--sched/--membind/--interleave/--thp/--no-aslr is given."""
    if all(v is None for v in settings.values()) and not no_aslr:
        return None
    from perflab.system.process import ProcessTuning

    return ProcessTuning.from_options(no_aslr=no_aslr, **settings)


def _plain_notice(text: str) -> None:
    import sys

    print(text, file=sys.stderr, flush=True)
