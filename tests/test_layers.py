"""The house's layers (../shared/STYLE.md): each layer imports only the
layers below it (``db`` < the ``crawler`` engine < ``spiders`` <
``scheduler`` < the application, ``crawler.app`` and ``web``), in
function-local imports too; closed vocabularies live in one module; the
board table names exactly the spiders the package defines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {"crawler", "spiders", "scheduler", "web"}


def _layer(module: str) -> int | None:
    """The floor of a project module (None: not the project's)."""
    top = module.split(".")[0]
    if module == "crawler.app" or module.startswith(("crawler.app.", "web")) and top in ("crawler", "web"):
        return 5
    return {"db": 1, "crawler": 2, "spiders": 3, "scheduler": 4}.get(top)


def _imports(path: Path) -> set[str]:
    """Every module the file imports, at its top or inside functions."""
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


def test_every_layer_imports_only_the_layers_below_it():
    offenders = set()
    for package in ("db", "crawler", "spiders", "scheduler", "web"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            floor = _layer(module)
            offenders |= {f"{module} (floor {floor}) imports {name} (floor {_layer(name)})"
                          for name in _imports(path) if (_layer(name) or 0) > floor}
    assert offenders == set()


def test_the_board_table_names_exactly_the_spiders_the_package_defines():
    import importlib
    import pkgutil

    import spiders
    from spiders.base import BoardSpider

    found = {}
    for info in pkgutil.iter_modules(spiders.__path__):
        if info.name == "parsers" or info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"spiders.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BoardSpider) and obj.board \
                    and obj.__module__ == module.__name__:
                found[obj.board] = f"{obj.__module__}:{obj.__name__}"
    assert found == spiders.BOARDS
    assert all(spiders.spider_class(board).board == board for board in spiders.BOARDS)
