"""What `pip install .` ships (the demo board, the migrations, every
package), the extras it offers, and the pins in constraints.txt that the
Dockerfile and `make install` install with: every dependency of
pyproject.toml and of each extra is pinned at a version its specifier
allows, and nothing is pinned that no dependency needs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = ("browser", "workers", "postgres")


def pins() -> dict[str, Version]:
    """constraints.txt as {canonical name: pinned version}."""
    out: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert "==" in line and not line.startswith("-"), f"constraints.txt: not a pin: {line!r}"
        name, version = line.split("==", 1)
        out[canonicalize_name(name)] = Version(version.strip())
    return out


def project_requirements(extras: tuple[str, ...] | None = None) -> list[Requirement]:
    """pyproject's dependencies and those of the named extras (default: every extra),
    without the self-references of `all`."""
    names = tuple(PYPROJECT["optional-dependencies"]) if extras is None else extras
    reqs = [Requirement(r) for r in PYPROJECT["dependencies"]]
    for extra in names:
        reqs += [Requirement(r) for r in PYPROJECT["optional-dependencies"][extra]]
    return [r for r in reqs if canonicalize_name(r.name) != "jobdelta"]


def requirement_closure(reqs: list[Requirement]) -> dict[str, list[Requirement]]:
    """Every distribution the requirements need, transitively, read from the
    installed metadata: {canonical name: the requirements naming it}."""
    needed: dict[str, list[Requirement]] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    todo = [(r, frozenset(r.extras)) for r in reqs]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        needed.setdefault(name, []).append(req)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        for line in metadata.distribution(name).requires or []:
            dep = Requirement(line)
            if dep.marker and not any(dep.marker.evaluate({"extra": e}) for e in (extras or {""})):
                continue
            todo.append((dep, frozenset(dep.extras)))
    return needed


def test_extras_split_the_optional_parts_and_all_names_each():
    extras = PYPROJECT["optional-dependencies"]
    names = {e: {canonicalize_name(Requirement(r).name) for r in extras[e]} for e in EXTRAS}
    assert names == {"browser": {"playwright", "scrapy-playwright"},
                     "workers": {"celery", "redis"}, "postgres": {"psycopg"}}
    core = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["dependencies"]}
    assert not core & set().union(*names.values())
    (everything,) = [Requirement(r) for r in extras["all"]]
    assert everything.name == "jobdelta" and everything.extras == set(EXTRAS)


def test_every_dependency_of_every_extra_is_pinned_within_its_specifier():
    pinned = pins()
    for req in project_requirements():
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req} is not pinned in constraints.txt: run `make lock`"
        assert req.specifier.contains(pinned[name], prereleases=True), \
            f"constraints.txt pins {name}=={pinned[name]}, outside pyproject's {req}: run `make lock`"


def test_pins_are_exactly_what_the_dependencies_need():
    needed = requirement_closure(project_requirements())
    pinned = pins()
    assert set(pinned) - set(needed) == set(), "pinned, but nothing needs it: run `make lock`"
    assert set(needed) - set(pinned) == set(), "needed, but not pinned: run `make lock`"
    for name, reqs in needed.items():
        for req in reqs:
            assert req.specifier.contains(pinned[name], prereleases=True), \
                f"constraints.txt pins {name}=={pinned[name]}, but something needs {req}"


def test_make_installs_every_extra_at_the_pinned_versions():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -c constraints.txt -e '.[all]'" in makefile
    assert "pip install --quiet -c constraints.txt -e '.[all,test]'" in makefile
    assert "\nlock:" in makefile and "pip-compile" in makefile


def test_wheel_carries_demo_data_and_migrations(tmp_path):
    # offline: the build backend is a test dependency (setuptools in the test extra)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("jobdelta-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    demo = {p.name for p in (ROOT / "crawler" / "app" / "demo_board").iterdir()}
    assert {f"crawler/app/demo_board/{n}" for n in demo} <= names
    migrations = {f"db/migrations/versions/{p.name}" for p in (ROOT / "db/migrations/versions").glob("*.py")}
    assert migrations and migrations <= names
    assert {"db/migrations/env.py", "db/migrations/script.py.mako", "crawler/app/cli.py",
            "spiders/greenhouse.py", "spiders/parsers/jsonld.py", "scheduler/__init__.py",
            "web/app.py", "web/static/app.css", "web/static/vendor/swagger-ui/swagger-ui-bundle.js"} <= names
    templates = {f"web/templates/{p.name}" for p in (ROOT / "web" / "templates").glob("*.html")}
    assert templates and templates <= names
    entry = [n for n in names if n.endswith("entry_points.txt")][0]
    assert "jobdelta = crawler.app.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
    meta = [n for n in names if n.endswith(".dist-info/METADATA")][0]
    provides = {line.split(":", 1)[1].strip() for line in
                zipfile.ZipFile(wheel).read(meta).decode().splitlines()
                if line.startswith("Provides-Extra:")}
    assert {*EXTRAS, "all", "test"} <= provides
