"""What `pip install .` (the Dockerfile's install step) ships: the demo
board, the migrations, every package; and the Dockerfile copies what exists."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

from .conftest import ROOT


def test_wheel_carries_demo_data_and_migrations(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
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
    assert "jobdelta = crawler.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_dockerfile_copies_existing_paths_and_uses_system_chromium():
    text = (ROOT / "Dockerfile").read_text()
    for line in text.splitlines():
        m = re.match(r"COPY\s+(.+)\s+\S+$", line.strip())
        if m:
            for src in m.group(1).split():
                assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is not in the repo"
    assert "apt-get install" in text and "chromium" in text
    assert "playwright install" not in text
    assert "pip install ." in text
    # every top-level package the wheel ships is copied into the image
    for package in ("crawler", "spiders", "scheduler", "db", "web"):
        assert f"COPY {package} ./{package}" in text, package
