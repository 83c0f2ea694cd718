"""`perflab vm`: run a command under another kernel in a VM; stress it; A/B two kernels."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

app = typer.Typer(help="Boot a kernel in QEMU and run a host command inside (the host filesystem is "
                       "shared read-only with a private writable overlay).", no_args_is_help=True)

_ARGV_KEY = "perflab_vm_argv"
# Exit codes when the command's own code cannot speak for the boot.
EXIT_KERNEL_ERROR = 3
EXIT_TIMED_OUT = 124
EXIT_INTERRUPTED = 130


class _VmCommand(TyperCommand):
    """Everything after ``--`` is the guest command's argv, untouched."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = list(args)
        if "--" in args:
            cut = args.index("--")
            ctx.meta[_ARGV_KEY] = args[cut + 1:]
            args = args[:cut]
        return super().parse_args(ctx, args)


def _command(ctx: typer.Context, name: str) -> list[str]:
    from perflab.errors import PerflabError

    argv = ctx.meta.get(_ARGV_KEY) or []
    if not argv:
        raise PerflabError(f"no command: perflab vm {name} --kernel K [OPTIONS] -- CMD ARG...")
    return argv


Kernel = Annotated[str, typer.Option("--kernel", "-k", help="vmlinux, bzImage, kernel .deb, or a /boot "
                                     "release (e.g. 6.1.0-57-amd64).")]
ModulesFrom = Annotated[str | None, typer.Option("--modules-from", help="Modules tree: a .deb or a "
                                                 "lib/modules/<release> directory.")]
Modules = Annotated[list[str] | None, typer.Option("--module", "-m", help="Load this module (and what it "
                                                   "depends on) before the command; repeatable.")]
Cpus = Annotated[int, typer.Option("--cpus", help="Guest vCPUs.")]
Mem = Annotated[int, typer.Option("--mem", help="Guest memory, MiB.")]
Accel = Annotated[str, typer.Option("--accel", help="auto (probe KVM, else TCG), kvm or tcg.")]
MachineOpt = Annotated[str, typer.Option("--machine", help="auto, microvm, q35 or pc.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Watchdog: kill the guest after S seconds.")]
Append = Annotated[str, typer.Option("--append", help="Extra kernel command-line arguments.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
Db = Annotated[str | None, typer.Option("--db", help="Store URL (default $PERFLAB_DB or "
                                        "sqlite:///.perflab/perflab.db).")]


def _options(modules_from: str | None, modules: list[str] | None, cpus: int, mem: int, accel: str,
             machine: str, timeout: float, append: str) -> Any:
    from perflab.lab.vm_session import VmOptions

    names = [n.strip() for value in modules or [] for n in value.split(",") if n.strip()]
    return VmOptions(modules_from=modules_from, modules=names, machine=machine, accel=accel, cpus=cpus,
                     mem_mb=mem, timeout_s=timeout, append=append)


def _fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def _report(result: Any, as_json: bool, show_output: bool, stored_id: int | None = None) -> None:
    """Print the guest's output, one summary line (labelled under TCG), and the health lines."""
    if as_json:
        data = result.to_dict()
        if stored_id is not None:
            data["id"] = stored_id
        typer.echo(json.dumps(data, indent=2))
    elif show_output:
        for run in result.runs:
            typer.echo(run.stdout, nl=False)
            typer.echo(run.stderr, nl=False, err=True)
    label = f" — {result.label}" if result.label else ""
    typer.echo(f"vm: {result.release} on {result.machine}/{result.accel}{label} ({result.accel_reason})",
               err=True)
    timed = [r for r in result.runs if r.guest_s is not None]
    if timed:
        one = "one run, no interval" if len(timed) == 1 else f"{len(timed)} runs in one boot"
        typer.echo(f"vm: boot to /init {_fmt_s(result.boot_to_init_s)} (guest clock); command "
                   f"{_fmt_s(timed[-1].guest_s)} guest clock, {_fmt_s(timed[-1].host_s)} host clock "
                   f"(last run; {one})", err=True)
    if result.status != "ok":
        typer.echo(f"vm: {result.status}: {result.reason}", err=True)
    for line in result.health:
        typer.echo(f"vm: kernel log: {line}", err=True)
    if result.status == "boot-failed":
        for line in result.console_tail[-15:]:
            typer.echo(f"vm: console: {line}", err=True)


def _exit_code(result: Any) -> int:
    if result.status == "ok":
        return 0
    if result.status == "command-failed":
        failed = next(r for r in result.runs if r.exit_code != 0)
        return failed.exit_code if failed.exit_code not in (None, 0) else 1
    return {"kernel-error": EXIT_KERNEL_ERROR, "timed-out": EXIT_TIMED_OUT,
            "interrupted": EXIT_INTERRUPTED}.get(result.status, 1)


@app.command("run", cls=_VmCommand, no_args_is_help=True)
def run(ctx: typer.Context, kernel: Kernel, modules_from: ModulesFrom = None, module: Modules = None,
        cpus: Cpus = 1, mem: Mem = 1024, accel: Accel = "auto", machine: MachineOpt = "auto",
        timeout: Timeout = 120.0, append: Append = "", db: Db = None, as_json: AsJson = False) -> None:
    """Boot KERNEL and run `-- CMD ARG...` inside; its output and exit code come back, and the run is
    stored (perflab results / export / report show it). A kernel-log Oops/BUG/WARNING/KASAN/panic/lockdep
    splat fails the run (exit 3); the watchdog kills a hung guest (exit 124)."""
    from perflab.lab.vm_session import run_and_save
    from perflab.store.db import Store

    command = _command(ctx, "run")
    options = _options(modules_from, module, cpus, mem, accel, machine, timeout, append)
    with Store.open(db) as store:
        result, stored = run_and_save(kernel, command, options, store)
        url = store.url
    _report(result, as_json, show_output=True, stored_id=stored.id)
    typer.echo(f"saved as #{stored.id} in {url}", err=True)
    raise typer.Exit(_exit_code(result))


@app.command("stress", cls=_VmCommand, no_args_is_help=True)
def stress(ctx: typer.Context, kernel: Kernel, repeat: Annotated[int, typer.Option(
        "--repeat", "-n", help="Runs of CMD in one boot.")] = 100, modules_from: ModulesFrom = None,
        module: Modules = None, cpus: Cpus = 1, mem: Mem = 1024, accel: Accel = "auto",
        machine: MachineOpt = "auto", timeout: Timeout = 600.0, append: Append = "",
        as_json: AsJson = False) -> None:
    """Run `-- CMD` REPEAT times in one boot (e.g. a module load/unload) and report the first failure:
    a non-zero exit or a kernel splat after that run."""
    from perflab.lab.vm_session import stress as stress_session

    result = stress_session(kernel, _command(ctx, "stress"),
                            _options(modules_from, module, cpus, mem, accel, machine, timeout, append),
                            repeat)
    _report(result, as_json, show_output=False)
    done = len(result.runs)
    if result.status == "ok":
        typer.echo(f"vm stress: {done}/{repeat} runs passed, kernel log clean", err=True)
    else:
        typer.echo(f"vm stress: first failure at run {max(done - 1, 0)} of {repeat}", err=True)
        last = result.runs[-1] if result.runs else None
        if last is not None and last.exit_code not in (0, None):
            typer.echo(last.stderr.rstrip()[-2000:], err=True)
    raise typer.Exit(_exit_code(result))


class _BootProgress:
    """One line per boot on stderr: which kernel, its status, boot-to-init and the command's time."""

    def boot_done(self, done: int, total: int, result: Any) -> None:
        guest = [r.guest_s for r in result.runs if r.guest_s is not None]
        figure = f"command {min(guest):.3f}–{max(guest):.3f} s" if guest else "no timing"
        typer.echo(f"vm bench: boot {done}/{total} {result.release}: {result.status}, boot to /init "
                   f"{_fmt_s(result.boot_to_init_s)}, {figure}", err=True)


@app.command("bench", cls=_VmCommand, no_args_is_help=True)
def bench(ctx: typer.Context,
          kernel: Annotated[list[str], typer.Option("--kernel", "-k", help="A kernel to compare (give two or "
                                                    "more; the first is the baseline).")],
          boots: Annotated[int, typer.Option("--boots", help="Boots per kernel (the unit of replication).")
                           ] = 10,
          runs_per_boot: Annotated[int, typer.Option("--runs-per-boot", help="Runs of CMD inside each boot "
                                                     "(their median is the boot's sample).")] = 1,
          metric: Annotated[list[str] | None, typer.Option("--metric", help="NAME=REGEX[:UNIT[:higher|lower]]"
                                                           ": a number parsed from CMD's output.")] = None,
          seed: Annotated[int | None, typer.Option("--seed", help="Seed of the boot order.")] = None,
          modules_from: ModulesFrom = None, module: Modules = None, cpus: Cpus = 1, mem: Mem = 1024,
          accel: Accel = "auto", machine: MachineOpt = "auto", timeout: Timeout = 120.0, append: Append = "",
          db: Db = None, as_json: AsJson = False) -> None:
    """A/B kernels: boots alternate in random order; CMD is timed on the guest's clock and the host's;
    boot-to-init is a metric of its own; per metric the ratio with its CI and a verdict, stored like any
    benchmark. Under TCG every figure is labelled emulated."""
    from rich.console import Console

    from perflab.bench.commands import parse_metric
    from perflab.lab.vm_bench import VmBenchRequest, run_vm_bench
    from perflab.report.terminal import print_benchmark
    from perflab.store.db import Store

    options = _options(modules_from, module, cpus, mem, accel, machine, timeout, append)
    request = VmBenchRequest(kernels=kernel, command=_command(ctx, "bench"), options=options,
                             boots=boots, runs_per_boot=runs_per_boot,
                             metrics=[parse_metric(m) for m in metric or []], seed=seed)
    request.validate()
    with Store.open(db) as store:
        result = run_vm_bench(request, store, observer=None if as_json else _BootProgress())
        url = store.url
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        console = Console()
        label = result.analysis.get("label")
        if label:
            console.print(f"[bold]{label}[/bold] — {result.settings['accel_reason']}")
        print_benchmark(console, result, result.analysis)
    typer.echo(f"saved as #{result.id} in {url}", err=True)
    if result.status != "complete":
        typer.echo(f"vm bench: {result.status}: {result.message}", err=True)
        raise typer.Exit(EXIT_KERNEL_ERROR if result.status == "failed" else EXIT_INTERRUPTED)
