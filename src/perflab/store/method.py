"""Ideas, their status history and experiments in the store (tables in schema.py).

Every state change is one transaction, so a killed perflab leaves the last committed state: an experiment
whose baseline was stored but whose candidate was not is resumable, never half-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from perflab.errors import PerflabError
from perflab.store import schema as s
from perflab.store.db import Store

IMPACTS = ("high", "medium", "low")
EFFORTS = ("low", "medium", "high")
STATUSES = ("todo", "in-progress", "review", "benching", "kept", "maybe", "discarded", "done")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Idea:
    id: int
    title: str
    impact: str
    effort: str
    status: str
    created_at: str
    updated_at: str
    location: str | None = None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # status history, oldest first


@dataclass
class ExperimentRow:
    id: int
    idea_id: int
    created_at: str
    updated_at: str
    state: str
    verdict: str | None
    record: dict[str, Any]


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise PerflabError(f"{what} must be one of {', '.join(allowed)} (got {value!r})")
    return value


class MethodRecords:
    """Reads and writes the method's tables of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # -- ideas -----------------------------------------------------------------------------------------

    def add_idea(
        self,
        title: str,
        impact: str,
        effort: str,
        *,
        status: str = "todo",
        location: str | None = None,
        note: str | None = None,
        tags: list[str] | None = None,
        reason: str = "added",
    ) -> int:
        title = title.strip()
        if not title:
            raise PerflabError("an idea needs a non-empty title")
        _check_choice(impact, IMPACTS, "--impact")
        _check_choice(effort, EFFORTS, "--effort")
        _check_choice(status, STATUSES, "--status")
        stamp = now()
        with self.engine.begin() as conn:
            idea_id = conn.execute(
                insert(s.ideas).values(
                    created_at=stamp,
                    updated_at=stamp,
                    title=title,
                    impact=impact,
                    effort=effort,
                    status=status,
                    location=location,
                    note=note,
                    tags=sorted(set(tags or [])),
                    extra={},
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(s.idea_events).values(idea_id=idea_id, at=stamp, status=status, reason=reason)
            )
        return int(idea_id)

    def set_status(self, idea_id: int, status: str, reason: str | None = None) -> None:
        _check_choice(status, STATUSES, "--status")
        stamp = now()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(s.ideas).where(s.ideas.c.id == idea_id).values(status=status, updated_at=stamp)
            ).rowcount
            if not done:
                raise PerflabError(f"no idea with id {idea_id} in {self.store.url} (see perflab idea list)")
            conn.execute(
                insert(s.idea_events).values(idea_id=idea_id, at=stamp, status=status, reason=reason)
            )

    def idea(self, idea_id: int) -> Idea:
        ideas = self.ideas(ids=[idea_id], with_events=True)
        if not ideas:
            raise PerflabError(f"no idea with id {idea_id} in {self.store.url} (see perflab idea list)")
        return ideas[0]

    def ideas(self, *, ids: list[int] | None = None, with_events: bool = False) -> list[Idea]:
        query = select(s.ideas).order_by(s.ideas.c.id)
        if ids is not None:
            query = query.where(s.ideas.c.id.in_(ids))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            events: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
            if with_events and rows:
                for e in conn.execute(
                    select(s.idea_events)
                    .where(s.idea_events.c.idea_id.in_(list(events)))
                    .order_by(s.idea_events.c.id)
                ).mappings():
                    events[e["idea_id"]].append({"at": e["at"], "status": e["status"], "reason": e["reason"]})
        return [
            Idea(
                id=r["id"],
                title=r["title"],
                impact=r["impact"],
                effort=r["effort"],
                status=r["status"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
                location=r["location"],
                note=r["note"],
                tags=list(r["tags"] or []),
                events=events[r["id"]],
            )
            for r in rows
        ]

    # -- experiments -----------------------------------------------------------------------------------

    def add_experiment(self, idea_id: int, state: str, record: dict[str, Any]) -> int:
        self.idea(idea_id)  # a clear error for an unknown idea
        stamp = now()
        with self.engine.begin() as conn:
            exp_id = conn.execute(
                insert(s.experiments).values(
                    idea_id=idea_id,
                    created_at=stamp,
                    updated_at=stamp,
                    state=state,
                    verdict=None,
                    record=record,
                )
            ).inserted_primary_key[0]
        return int(exp_id)

    def update_experiment(
        self, exp_id: int, *, state: str, record: dict[str, Any], verdict: str | None = None
    ) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(s.experiments)
                .where(s.experiments.c.id == exp_id)
                .values(state=state, record=record, verdict=verdict, updated_at=now())
            ).rowcount
        if not done:
            raise PerflabError(f"no experiment with id {exp_id} in {self.store.url} (see perflab exp list)")

    def experiment(self, exp_id: int) -> ExperimentRow:
        rows = self.experiments(ids=[exp_id])
        if not rows:
            raise PerflabError(f"no experiment with id {exp_id} in {self.store.url} (see perflab exp list)")
        return rows[0]

    def experiments(self, *, ids: list[int] | None = None, idea_id: int | None = None) -> list[ExperimentRow]:
        query = select(s.experiments).order_by(s.experiments.c.id)
        if ids is not None:
            query = query.where(s.experiments.c.id.in_(ids))
        if idea_id is not None:
            query = query.where(s.experiments.c.idea_id == idea_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            ExperimentRow(
                id=r["id"],
                idea_id=r["idea_id"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
                state=r["state"],
                verdict=r["verdict"],
                record=dict(r["record"] or {}),
            )
            for r in rows
        ]
