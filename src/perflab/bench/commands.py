"""From what the user typed to concrete commands: word splitting, parameters, names, metrics, env.

Commands are argv lists run without a shell; a command string is split like a shell splits words
(``shlex``) but no shell features apply. ``--shell`` wraps the string as ``sh -c STRING`` instead.
Parameters (``--parameter-list``/``--parameter-scan``) expand cartesian-wise, ``{NAME}`` substituted in
the command, its name and its hooks.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from perflab.bench.shell_syntax import find_shell_syntax
from perflab.errors import PerflabError
from perflab.store.model import MetricSpec

SHELL = "sh"
MAX_COMBINATIONS = 1000
_UNIT_RE = re.compile(r"^[^()\[\]{}\\*+?^$|]*$")  # a unit: no regex syntax in it


@dataclass
class Command:
    """One concrete command to measure (after parameter substitution)."""

    name: str
    command: str  # display form, as the user wrote it
    argv: list[str]
    parameters: dict[str, str] = field(default_factory=dict)
    prepare: list[str] | None = None  # argv run before each run (not timed)
    setup: list[str] | None = None  # argv run once before the first run
    cleanup: list[str] | None = None  # argv run once after the last run
    conclude: list[str] | None = None  # argv run after each run (not timed), hyperfine's --conclude

    @classmethod
    def from_argv(cls, argv: Sequence[str], name: str | None = None) -> Command:
        """A command given as argv (``perflab bench -- CMD ARG...`` or a library caller)."""
        text = shlex.join(argv)
        return cls(name=name or text, command=text, argv=list(argv))


def split_command(text: str, *, shell: bool | Sequence[str], what: str = "command",
                  literal: bool = False) -> list[str]:
    """argv for a command string: ``SHELL -c TEXT`` with a shell, else shell-like word splitting.

    ``shell`` is True (``sh``), a shell's argv prefix (``["bash", "-e"]``), or False. Without a shell,
    shell syntax (``|``, ``&&``, ``;``, redirections, ``$VAR``, globs) is refused, since it would reach the
    program as literal words; ``literal=True`` (hyperfine's ``-N``) passes such words through as asked."""
    if shell:
        return [*_shell_prefix(shell), "-c", text]
    try:
        argv = shlex.split(text)
    except ValueError as error:
        raise PerflabError(f"{what} {text!r}: {error} (quote it properly or use --shell)") from None
    if not argv:
        raise PerflabError(f"{what} is empty")
    if not literal:
        found = find_shell_syntax(text)
        if found is None and _ASSIGNMENT_RE.match(argv[0]):
            found = f"a variable assignment {argv[0]!r} (or use --env)"
        if found is not None:
            raise PerflabError(f"{what} {text!r} contains {found}, which only a shell understands; "
                               "run it with --shell (or -S SHELL), or quote the character")
    return argv


_ASSIGNMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _shell_prefix(shell: bool | Sequence[str]) -> list[str]:
    return [SHELL] if shell is True else list(shell)  # type: ignore[arg-type]


def _substitute(text: str, params: dict[str, str]) -> str:
    for key, value in params.items():
        text = text.replace("{" + key + "}", value)
    return text


def parse_parameter_list(name: str, values: str) -> tuple[str, list[str]]:
    """``-L NAME a,b,c`` as hyperfine reads it: ``\\,`` is a literal comma, empty values are allowed
    (``-L flags ,-O2`` benchmarks without and with a flag)."""
    if not name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise PerflabError(f"--parameter-list {name!r}: the name must be an identifier (letters, digits, _)")
    return name, _tokenize(values)


def _tokenize(values: str) -> list[str]:
    tokens, buf = [], ""
    i = 0
    while i < len(values):
        ch = values[i]
        if ch == "\\" and i + 1 < len(values) and values[i + 1] in ",\\":
            buf += values[i + 1]
            i += 2
            continue
        if ch == ",":
            tokens.append(buf)
            buf = ""
        else:
            buf += ch
        i += 1
    return [*tokens, buf]


def parse_parameter_scan(name: str, lo: str, hi: str, step: str | None) -> tuple[str, list[str]]:
    """Values LO, LO+D, … ≤ HI with exact decimal arithmetic (0.1 steps do not drift), written as
    hyperfine writes them: the scale of LO and D is kept (``-P t 0 0.02 -D 0.005`` → 0, 0.005, 0.010, …)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise PerflabError(f"--parameter-scan {name!r}: the name must be an identifier")
    try:
        start, stop, inc = Decimal(lo), Decimal(hi), Decimal(step if step is not None else "1")
    except InvalidOperation:
        raise PerflabError(f"--parameter-scan {name} {lo} {hi} --step {step}: not numbers") from None
    if not all(d.is_finite() for d in (start, stop, inc)):
        raise PerflabError(f"--parameter-scan {name} {lo} {hi} --step {step}: not finite numbers")
    if any(d != 0 and not -30 <= d.adjusted() <= 30 for d in (start, stop, inc)) or any(
        len(d.as_tuple().digits) > 60 for d in (start, stop, inc)
    ):  # 1e999999999 or 4,300 digits: no scan needs them, and the arithmetic would not end
        raise PerflabError(f"--parameter-scan {name} {lo} {hi} --step {step}: numbers must have at most 60 "
                           f"digits and magnitudes between 1e-30 and 1e30")
    if inc <= 0:
        raise PerflabError(f"--step {step}: must be positive")
    if stop < start:
        raise PerflabError(f"--parameter-scan {name} {lo} {hi}: HI is below LO")
    count = int((stop - start) / inc) + 1
    if count > MAX_COMBINATIONS:
        raise PerflabError(f"--parameter-scan {name} {lo} {hi}: {count} values (limit {MAX_COMBINATIONS})")
    values, value = [], start
    while value <= stop:  # repeated addition, as hyperfine's RangeStep: the scale is max(LO's, D's)
        values.append(format(value, "f"))
        value += inc
    return name, values


def expand(
    templates: Sequence[str | Sequence[str]],
    *,
    names: Sequence[str] = (),
    shell: bool | Sequence[str] = False,
    literal: bool = False,
    parameters: Sequence[tuple[str, list[str]]] = (),
    prepare: Sequence[str] = (),
    setup: Sequence[str] = (),
    cleanup: Sequence[str] = (),
    conclude: Sequence[str] = (),
    reference: str | Sequence[str] | None = None,
    reference_name: str | None = None,
) -> list[Command]:
    """Every (template × parameter combination) as a Command, in hyperfine's order: the command list
    varies fastest, then the first parameter, then the next (``-L a 1,2 -L b x,y`` → a=1 b=x, a=2 b=x, …).

    A template is a command string, or an argv list (``perflab bench -- CMD ARG...``) whose words are
    substituted one by one and never re-split (with ``shell`` they are quoted into one ``sh -c`` string).
    ``names`` holds one name for all, one per template, or one per expanded command (as hyperfine's
    ``--command-name``). A parameter a template does not use is named in its name, as hyperfine does:
    ``echo test (branch = master)``. ``literal`` (hyperfine's ``-N``) runs shell syntax as plain words.

    ``reference`` (hyperfine's ``--reference``) comes first, is not parameterised, and is what the others
    are compared with; a hook option then takes one value for all or one per command plus the reference
    (the reference's first), as in hyperfine."""
    if reference is not None:
        hook_lists = {"prepare": prepare, "setup": setup, "cleanup": cleanup, "conclude": conclude}
        mine: dict[str, list[str]] = {}
        rest: dict[str, list[str]] = {}
        for opt, values in hook_lists.items():
            if len(values) == len(templates) + 1:
                mine[opt], rest[opt] = [values[0]], list(values[1:])
            elif len(values) <= 1:
                mine[opt], rest[opt] = list(values), list(values)
            else:
                raise PerflabError(f"{len(values)} --{opt} given for {len(templates)} commands and a "
                                   f"--reference (give one for all, or {len(templates) + 1}: the "
                                   "reference's first)")
        [ref] = expand([reference], names=[reference_name] if reference_name else [], shell=shell,
                       literal=literal, **mine)
        others = expand(templates, names=names, shell=shell, literal=literal, parameters=parameters, **rest)
        return _unique_names([ref, *others])
    if reference_name is not None:
        raise PerflabError("--reference-name needs --reference")
    if not templates:
        raise PerflabError("no command given (perflab bench 'CMD' … or perflab bench -- CMD ARG…)")
    seen: set[str] = set()
    for key, _ in parameters:
        if key in seen:
            raise PerflabError(f"parameter {key!r} given twice")
        seen.add(key)

    def per_command(option: str, values: Sequence[str]) -> list[str | None]:
        if not values:
            return [None] * len(templates)
        if len(values) == 1:
            return [values[0]] * len(templates)
        if len(values) == len(templates):
            return list(values)
        raise PerflabError(f"{len(values)} {option} given for {len(templates)} commands "
                           "(give one for all, or one per command)")

    hooks = {opt: per_command(f"--{opt}", vals) for opt, vals in
             (("prepare", prepare), ("setup", setup), ("cleanup", cleanup), ("conclude", conclude))}
    keys = [k for k, _ in parameters]
    # itertools.product varies its last argument fastest: reverse, so the first list varies fastest
    combos = [tuple(reversed(c)) for c in itertools.product(*(v for _, v in reversed(parameters)))] or [()]
    total = len(combos) * len(templates)
    if total > MAX_COMBINATIONS:
        raise PerflabError(f"{total} commands after parameter expansion (limit {MAX_COMBINATIONS})")
    if names and len(names) not in (1, len(templates), total):
        raise PerflabError(f"{len(names)} --name given for {total} commands "
                           f"(give one for all, one per command string, or one per benchmark)")

    commands: list[Command] = []
    for combo in combos:
        for i, template in enumerate(templates):
            params = dict(zip(keys, combo, strict=True))
            if isinstance(template, str):
                text = _substitute(template, params)
                argv = split_command(text, shell=shell, literal=literal)
            else:
                words = [_substitute(w, params) for w in template]
                if not words:
                    raise PerflabError("empty command")
                text = shlex.join(words)
                argv = [*_shell_prefix(shell), "-c", text] if shell else words
            raw_name = _pick_name(names, i, len(commands), total)
            name = _substitute(raw_name, params) if raw_name is not None else text
            unused = [k for k in keys if "{" + k + "}" not in _text(template) + (raw_name or "")]
            if unused:
                name += " (" + ", ".join(f"{k} = {params[k]}" for k in unused) + ")"
            hook_argv = {}
            for opt, values in hooks.items():
                raw = values[i]
                hook_argv[opt] = (split_command(_substitute(raw, params), shell=shell, what=f"--{opt}",
                                                literal=literal) if raw is not None else None)
            commands.append(Command(name=name, command=text, argv=argv, parameters=params, **hook_argv))
    return _unique_names(commands)


def _pick_name(names: Sequence[str], template: int, position: int, total: int) -> str | None:
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    return names[position] if len(names) == total else names[template]


def _text(template: str | Sequence[str]) -> str:
    return template if isinstance(template, str) else shlex.join(template)


def _unique_names(commands: list[Command]) -> list[Command]:
    """Identical names would make the table and the comparisons ambiguous (an A/A run compares a
    command with itself): add the parameters, else the position, as in ``sleep 1 (2)``."""
    counts = Counter(c.name for c in commands)
    for c in commands:
        if counts[c.name] > 1 and c.parameters:
            c.name = c.name + " (" + ", ".join(f"{k}={v}" for k, v in c.parameters.items()) + ")"
    counts = Counter(c.name for c in commands)
    seen: Counter[str] = Counter()
    for c in commands:
        if counts[c.name] > 1:
            seen[c.name] += 1
            c.name = f"{c.name} ({seen[c.name]})"
    return commands


def parse_metric(text: str) -> MetricSpec:
    """``NAME=REGEX[:UNIT[:higher|lower]]``. A trailing ``:higher``/``:lower`` and a ``:UNIT`` without regex
    syntax are peeled off the right; the rest is the regex, so colons inside the regex are fine."""
    name, eq, rest = text.partition("=")
    name = name.strip()
    if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name) or not rest:
        raise PerflabError(f"--metric {text!r}: expected NAME=REGEX[:UNIT[:higher|lower]], "
                           "e.g. 'ops=([0-9.]+) ops/s:ops/s:higher'")
    higher = True
    unit = ""
    head, sep, last = rest.rpartition(":")
    if sep and last in ("higher", "lower"):
        higher = last == "higher"
        rest = head
        head, sep, last = rest.rpartition(":")
        if sep and _UNIT_RE.match(last):
            unit, rest = last, head
    elif sep and last and _UNIT_RE.match(last) and head:
        unit, rest = last, head
    try:
        re.compile(rest)
    except (re.error, OverflowError, RecursionError, ValueError) as error:  # a{99999999999}: Overflow
        raise PerflabError(f"--metric {name}: bad regular expression {rest!r}: {error}") from None
    return MetricSpec(name=name, regex=rest, unit=unit, higher_is_better=higher)


def extract_metric(spec: MetricSpec, output: str) -> float | None:
    """The number in the first match (first capture group, else the whole match); None when absent."""
    match = re.search(spec.regex, output, re.MULTILINE)
    if match is None:
        return None
    text = match.group(1) if match.re.groups else match.group(0)
    if text is None:
        return None
    try:
        return float(text.replace(",", "").replace("_", "").strip())
    except ValueError:
        return None


def parse_env(items: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key or "\0" in item:
            raise PerflabError(f"--env {item!r}: expected KEY=VALUE")
        env[key] = value
    return env
