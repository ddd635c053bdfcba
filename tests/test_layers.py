"""The house's layers (../shared/STYLE.md): ``db/`` is the ground floor and
imports nothing else of the project; closed vocabularies live in one module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {"crawler", "spiders", "scheduler", "web"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_db_imports_nothing_else_of_the_project():
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "db").rglob("*.py")
        for name in _imports(path) if name.split(".")[0] in PROJECT_PACKAGES
    }
    assert offenders == set()


def test_run_statuses_and_event_kinds_are_checked_by_the_schema():
    from db.models import Event, Posting, Run, SourceHealth
    from db.vocab import EventKind, HealthState, PostingStatus, RunStatus

    def checks(model) -> str:
        return " ".join(str(c.sqltext) for c in model.__table__.constraints if c.__class__.__name__ == "CheckConstraint")

    for model, vocab in ((Run, RunStatus), (Event, EventKind), (Posting, PostingStatus),
                         (SourceHealth, HealthState)):
        text = checks(model)
        assert all(f"'{member.value}'" in text for member in vocab), (model, text)
