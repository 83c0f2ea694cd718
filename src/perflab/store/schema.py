"""The one schema every perflab result lives in (SQLAlchemy Core tables).

Raw samples are kept run by run so any later analysis (a new statistic, a different alpha) can be
recomputed from the store. Columns the model may grow later land in the ``extra`` JSON columns, so
adding a dataclass field with a default needs no migration; renaming one bumps ``SCHEMA_VERSION``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 1

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", String(40), nullable=False),
)

benchmarks = Table(
    "benchmarks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", String(40), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("message", Text),
    Column("environment", JSON, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("analysis", JSON, nullable=False),
    Column("order", JSON, nullable=False),
    Column("extra", JSON, nullable=False),
)

commands = Table(
    "commands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("benchmark_id", Integer, ForeignKey("benchmarks.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("command", Text, nullable=False),
    Column("argv", JSON, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("warmup_runs", Integer, nullable=False),
    Column("metrics", JSON, nullable=False),  # list of MetricSpec dicts
    Column("memory_note", Text),
    Column("shell_spawn_s", Float),
    Column("notes", JSON, nullable=False),
    Column("extra", JSON, nullable=False),
    Index("ix_commands_benchmark", "benchmark_id", "position"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("command_id", Integer, ForeignKey("commands.id", ondelete="CASCADE"), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("wall_ns", BigInteger, nullable=False),
    Column("user_s", Float, nullable=False),
    Column("sys_s", Float, nullable=False),
    Column("exit_code", Integer),
    Column("signal", Integer),
    Column("timed_out", Boolean, nullable=False),
    Column("peak_rss_bytes", BigInteger),
    Column("metrics", JSON, nullable=False),
    Column("block", Integer, nullable=False),
    Column("variant", Text, nullable=False),
    Column("extra", JSON, nullable=False),
    Index("ix_runs_command", "command_id", "sequence"),
)

baselines = Table(
    "baselines",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("benchmark_id", Integer, ForeignKey("benchmarks.id", ondelete="CASCADE"), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

# -- the performance method: ideas, their status history, experiments (docs/method.md) ---------------

ideas = Table(
    "ideas",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("title", Text, nullable=False),
    Column("impact", String(16), nullable=False),
    Column("effort", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("location", Text),  # PATH:LINE where the change would go
    Column("note", Text),
    Column("tags", JSON, nullable=False),
    Column("extra", JSON, nullable=False),
)

idea_events = Table(
    "idea_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idea_id", Integer, ForeignKey("ideas.id", ondelete="CASCADE"), nullable=False),
    Column("at", String(40), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", Text),
    Index("ix_idea_events_idea", "idea_id", "id"),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idea_id", Integer, ForeignKey("ideas.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("state", String(32), nullable=False),  # see perflab.lab.experiment.STATES
    Column("verdict", String(16)),
    Column("record", JSON, nullable=False),  # suite, inputs, git, baseline/candidate ids, check, decision
    Index("ix_experiments_idea", "idea_id"),
)
