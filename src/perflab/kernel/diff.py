"""``perflab kernel diff A B``: what changed between two .config files.

"Absent" and ``n`` are different here on purpose: a symbol written as ``# CONFIG_X is not set``
exists (it was visible) while an unwritten one was invisible or unknown to that kernel version.
The fragment (B − A) sets every added or changed symbol and writes ``is not set`` for removed ones,
so applying it to A (merge A FRAGMENT) reproduces B's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perflab.kernel.config import STRING, KernelConfig, escape_string, render


@dataclass
class Change:
    symbol: str
    old: str | None  # None: not in A
    new: str | None  # None: not in B


@dataclass
class ConfigDiff:
    a: str
    b: str
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # side → {"y": .., "m": ..}
    _kinds: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def promotions(self) -> list[Change]:
        """m → y: a module became builtin."""
        return [c for c in self.changed if c.old == "m" and c.new == "y"]

    @property
    def demotions(self) -> list[Change]:
        """y → m."""
        return [c for c in self.changed if c.old == "y" and c.new == "m"]

    def fragment(self) -> str:
        """B − A as a fragment for ``perflab kernel merge``."""
        lines = [f"# perflab kernel diff: fragment turning {self.a} into {self.b}"]
        for change in sorted(self.added + self.changed, key=lambda c: c.symbol):
            assert change.new is not None  # added and changed symbols have a value in B ("" is one)
            lines.append(render(change.symbol, change.new, self._kinds.get(change.symbol, "tristate")))
        for change in self.removed:
            if change.old not in (None, "n") and self._kinds.get(change.symbol) == "tristate":
                lines.append(render(change.symbol, "n", "tristate"))
        return "\n".join(lines) + "\n"

    def shown(self, symbol: str, value: str | None) -> str:
        """A value as the plain diff prints it: ``(absent)``, strings quoted (an empty one is ``""``)."""
        if value is None:
            return "(absent)"
        return escape_string(value) if self._kinds.get(symbol) == STRING else value

    def to_json(self) -> dict[str, object]:
        def rows(changes: list[Change]) -> list[dict[str, str | None]]:
            return [{"symbol": c.symbol, "old": c.old, "new": c.new} for c in changes]

        return {"a": self.a, "b": self.b, "counts": self.counts, "added": rows(self.added),
                "removed": rows(self.removed), "changed": rows(self.changed),
                "promotions_m_to_y": rows(self.promotions), "demotions_y_to_m": rows(self.demotions)}


def diff_configs(a: KernelConfig, b: KernelConfig, a_label: str = "A", b_label: str = "B") -> ConfigDiff:
    result = ConfigDiff(a_label, b_label)
    old, new = a.as_dict(), b.as_dict()
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None:
            result.added.append(Change(name, None, after))
        elif after is None:
            result.removed.append(Change(name, before, None))
        else:
            result.changed.append(Change(name, before, after))
        entry = b.entry(name) or a.entry(name)
        if entry is not None:
            result._kinds[name] = entry.kind
    result.counts = {side: {"y": cfg.count("y"), "m": cfg.count("m"), "n": cfg.count("n"), "total": len(cfg)}
                     for side, cfg in (("a", a), ("b", b))}
    return result


def diff_files(a: str | Path, b: str | Path) -> ConfigDiff:
    return diff_configs(KernelConfig.load(a), KernelConfig.load(b), str(a), str(b))
