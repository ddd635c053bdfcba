"""The Dockerfile and docker-compose.yml, checked without a Docker engine.

The Dockerfile is read (its stages, user, entry point, command and health
check), and its install step is done the way it does it: the project's
wheel, built from exactly what the build stage copies, installed into a
fresh venv that sees only the core dependencies (no extra), where
``jobdelta --help`` works, a board of a missing extra fails with one line
naming it, the demo runs on SQLite, and the HEALTHCHECK command, run as an
unprivileged user like the image's, exits 0 when every source is healthy and
non-zero when one is not. docker-compose.yml names services whose commands
and options the CLI has.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from crawler.app.cli import main

from .conftest import ROOT
from .test_packaging import project_requirements, requirement_closure


@dataclass
class Stage:
    name: str
    base: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)


def dockerfile_stages(text: str) -> list[Stage]:
    """The Dockerfile's stages, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        current += (" " if current else "") + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            logical.append(current)
            current = ""
    stages: list[Stage] = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args, flags=re.IGNORECASE)
            assert m, line
            stages.append(Stage(name=m.group(2) or str(len(stages)), base=m.group(1)))
        elif stages:
            stages[-1].lines.append((instruction, args))
    return stages


STAGES = {s.name: s for s in dockerfile_stages((ROOT / "Dockerfile").read_text())}


def effective(name: str) -> list[tuple[str, str]]:
    """A stage's instructions with those of the stages it is built on."""
    stage = STAGES[name]
    inherited = effective(stage.base) if stage.base in STAGES else []
    return inherited + stage.lines


def last(name: str, instruction: str) -> str:
    values = [args for ins, args in effective(name) if ins == instruction]
    assert values, f"stage {name} has no {instruction}"
    return values[-1]


def healthcheck_command() -> list[str]:
    args = last("runtime", "HEALTHCHECK")
    m = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(\[.*\])", args)
    assert m, f"HEALTHCHECK is not in exec form: {args}"
    return json.loads(m.group(2))


# -- the Dockerfile, read


def test_dockerfile_is_multi_stage_with_a_slim_default_and_a_browser_target():
    names = list(STAGES)
    assert names[-1] == "runtime", "the default target (the last stage) is the runtime without a browser"
    assert {"build", "browser", "runtime"} <= set(names)
    for target in ("runtime", "browser"):
        chain, stage = [], STAGES[target]
        while stage.base in STAGES:
            chain.append(stage.base)
            stage = STAGES[stage.base]
        assert "build" not in chain and "build-browser" not in chain, \
            f"{target} must not be built on the build stage (no compiler, wheels or sources)"
        assert stage.base.startswith("${") or "slim" in stage.base
        copies = [args for ins, args in effective(target) if ins == "COPY"]
        assert any(c.startswith("--from=build") and "/opt/jobdelta" in c for c in copies), copies
    runtime_text = " ".join(args for _, args in effective("runtime")).lower()
    assert "chromium" not in runtime_text and "playwright" not in runtime_text
    browser_runs = " ".join(args for ins, args in STAGES["browser"].lines if ins == "RUN")
    assert re.search(r"apt-get install .*\bchromium\b", browser_runs)
    assert "playwright install" not in (ROOT / "Dockerfile").read_text()
    build_runs = " ".join(args for ins, args in effective("build-browser") if ins == "RUN")
    assert "[browser," in build_runs


def test_dockerfile_runs_as_non_root_with_jobdelta_daemon_and_a_status_healthcheck():
    for target in ("runtime", "browser"):
        user = last(target, "USER").split(":")[0]
        assert user not in ("", "root", "0"), f"{target} runs as {user!r}"
        assert json.loads(last(target, "ENTRYPOINT")) == ["jobdelta"]
        assert json.loads(last(target, "CMD")) == ["daemon"]
        assert json.loads(last(target, "VOLUME")) == ["/data"]
        assert last(target, "WORKDIR") == "/data"
        env = " ".join(args for ins, args in effective(target) if ins == "ENV")
        assert "JOBDELTA_CONFIG=/data/jobdelta.toml" in env
        assert "PATH=/opt/jobdelta/bin:" in env
    assert healthcheck_command() == ["jobdelta", "status"]


def test_dockerfile_installs_the_pinned_versions_and_copies_what_exists():
    build = STAGES["build"]
    env = " ".join(args for ins, args in build.lines if ins == "ENV")
    assert "PIP_CONSTRAINT=/src/constraints.txt" in env
    copied = []
    for ins, args in build.lines:
        if ins == "COPY":
            *sources, _dest = args.split()
            copied += sources
    assert "constraints.txt" in copied and "pyproject.toml" in copied
    for src in copied:
        assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which is not in the repo"
    for package in ("crawler", "spiders", "scheduler", "db", "web"):
        assert package in copied
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert ".venv" in ignored and ".git" in ignored
    assert not set(copied) & set(ignored)


# -- the install step, done: a fresh venv with the core dependencies only


def _world_readable_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="jobdelta-docker-"))
    path.chmod(0o755)  # the HEALTHCHECK runs as an unprivileged user, who must reach the venv
    return path


def _core_site(target: Path) -> None:
    """A directory holding (as links into this environment) exactly the
    distributions the core dependencies need: what `pip install jobdelta`
    brings, without any extra."""
    target.mkdir()
    needed = requirement_closure(project_requirements(extras=()))
    site = Path(metadata.distribution("scrapy").locate_file(""))
    linked: set[str] = set()
    for name in needed:
        for file in metadata.distribution(name).files or []:
            top = file.parts[0]
            if top in ("..", "__pycache__") or top in linked or not (site / top).exists():
                continue
            linked.add(top)
            (target / top).symlink_to(site / top)


def _reachable_by_others(path: Path) -> bool:
    """Whether a user who owns nothing here may run this file."""
    real = path.resolve()
    return all(p.stat().st_mode & 0o001 for p in [real, *real.parents])


def _base_python() -> str:
    """An interpreter of this Python version for the fresh venv, one an
    unprivileged user can run too when there is one (this one may live in a
    home directory only its owner can enter)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys._base_executable, f"/usr/local/bin/python{version}",
                      f"/usr/bin/python{version}"):
        if Path(candidate).exists() and _reachable_by_others(Path(candidate)):
            return candidate
    return sys._base_executable


@pytest.fixture(scope="module")
def core_venv():
    root = _world_readable_dir()
    try:
        src, wheels = root / "src", root / "wheels"
        src.mkdir()
        for ins, args in STAGES["build"].lines:  # exactly what the build stage copies
            if ins == "COPY":
                for name in args.split()[:-1]:
                    path = ROOT / name
                    if path.is_dir():
                        shutil.copytree(path, src / name,
                                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                    else:
                        shutil.copy2(path, src / name)
        pip = [sys.executable, "-m", "pip"]
        # offline: the build backend comes from the test dependencies
        subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                        "--wheel-dir", str(wheels), str(src)],
                       check=True, capture_output=True, timeout=300)
        venv = root / "venv"
        subprocess.run([_base_python(), "-m", "venv", "--without-pip", str(venv)],
                       check=True, capture_output=True, timeout=120)
        _core_site(root / "core-site")
        purelib = subprocess.run([str(venv / "bin" / "python"), "-c",
                                  "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        Path(purelib, "jobdelta-core-deps.pth").write_text(f"{root / 'core-site'}\n")
        # pip resolves the wheel's dependencies against the core set: it fails if one is missing
        wheel = next(wheels.glob("jobdelta-*.whl"))
        done = subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "-q",
                               "--no-index", "--no-build-isolation", str(wheel)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        yield venv
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(venv: Path, *args: str, cwd: Path, env: dict[str, str] | None = None,
         user: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [str(venv / "bin" / "jobdelta"), *args]
    if user:
        entry = pwd.getpwnam(user)
        command = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups",
                   *command]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JOBDELTA_")}
    return subprocess.run(command, cwd=cwd, env={**environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)


def test_core_install_has_no_extra_and_says_which_one_a_board_needs(core_venv, tmp_path):
    python = str(core_venv / "bin" / "python")
    for module in ("playwright", "scrapy_playwright", "celery", "psycopg"):
        found = subprocess.run([python, "-c", f"import importlib.util as u; "
                                f"print(u.find_spec({module!r}) is not None)"],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert found == "False", f"{module} is visible in the core install"
    helped = _run(core_venv, "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "daemon" in helped.stdout and "status" in helped.stdout

    config = tmp_path / "jobdelta.toml"
    config.write_text('[[sources]]\nname = "rendered"\nboard = "browser"\n'
                      'base_url = "http://127.0.0.1:9"\nurl = "/jobs"\n')
    refused = _run(core_venv, "--config", str(config), "sources", cwd=tmp_path)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        f"error: {config}: sources[0] (rendered): board 'browser' needs the browser extra: "
        "pip install 'jobdelta[browser]'"]

    queue = _run(core_venv, "worker", cwd=tmp_path)
    assert queue.returncode != 0
    assert queue.stderr.strip().splitlines() == [
        "error: the Celery queue (--queue, worker) needs the workers extra: "
        "pip install 'jobdelta[workers]'"]


def _unprivileged(venv: Path) -> str | None:
    """The user the HEALTHCHECK runs as here (the image runs as its own
    non-root user), or None when this process is not root (it runs as itself)."""
    if os.geteuid() != 0:
        return None
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot run the HEALTHCHECK as non-root")
    if not _reachable_by_others(venv / "bin" / "python"):
        pytest.skip(f"no Python {sys.version_info.major}.{sys.version_info.minor} here that an "
                    "unprivileged user may run: cannot run the HEALTHCHECK as non-root")
    pwd.getpwnam("nobody")
    return "nobody"


@pytest.mark.slow
def test_core_install_runs_the_demo_and_its_healthcheck_as_non_root(core_venv):
    user = _unprivileged(core_venv)
    data = _world_readable_dir()  # the image's /data volume
    try:
        demo = _run(core_venv, "demo", "--dir", str(data / "demo"), cwd=data, timeout=300)
        assert demo.returncode == 0, demo.stderr[-2000:]
        if user:
            # the volume belongs to the image's user, as `chown jobdelta /data` does
            for path in [data, *data.rglob("*")]:
                os.chown(path, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        env = {"JOBDELTA_CONFIG": str(data / "demo" / "jobdelta.toml")}
        check = healthcheck_command()
        assert check[0] == "jobdelta"
        healthy = _run(core_venv, *check[1:], cwd=data, env=env, user=user)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert "vercel" in healthy.stdout and "careers" in healthy.stdout

        # the demo's replay server is gone: a crawl of one source now fails
        config = data / "demo" / "jobdelta.toml"
        config.write_text(config.read_text().replace("[defaults]\n", "[defaults]\nretries = 0\n", 1))
        failed = _run(core_venv, "crawl", "vercel", cwd=data, env=env, user=user, timeout=300)
        assert failed.returncode != 0 and "vercel" in failed.stdout, failed.stdout + failed.stderr
        unhealthy = _run(core_venv, *check[1:], cwd=data, env=env, user=user)
        assert unhealthy.returncode != 0, unhealthy.stdout + unhealthy.stderr
    finally:
        shutil.rmtree(data, ignore_errors=True)


# -- docker-compose.yml


COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_redis_a_queue_daemon_two_workers_and_the_web_app():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "daemon", "worker-1", "worker-2", "web"} <= set(services)
    commands = {name: s.get("command") for name, s in services.items()}
    assert commands["daemon"] == ["daemon", "--queue"]
    assert commands["worker-1"][0] == commands["worker-2"][0] == "worker"
    assert commands["web"][:3] == ["serve", "--host", "0.0.0.0"]
    for name in ("postgres", "redis", "web"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    for name in ("daemon", "worker-1", "worker-2", "web", "migrate"):
        service = services[name]
        env = service["environment"]
        assert env["JOBDELTA_BROKER_URL"].startswith("redis://redis:")
        assert env["JOBDELTA_DATABASE_URL"].startswith("postgresql://") and "@postgres:" in env["JOBDELTA_DATABASE_URL"]
        assert env["JOBDELTA_CONFIG"].startswith("/config/")
        assert any(v.endswith(":/config:ro") for v in service["volumes"])
        assert service["build"]["context"] == "."
    assert "JOBDELTA_WEB_TOKEN" in services["web"]["environment"]
    for name in ("daemon", "worker-1", "worker-2", "web"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"


def test_compose_commands_and_options_exist_in_the_cli():
    runner = CliRunner()
    listing = runner.invoke(main, ["--help"])
    assert listing.exit_code == 0
    for name, service in COMPOSE["services"].items():
        command = service.get("command")
        if not service.get("build") or not command:
            continue
        path = command[:2] if command[0] == "db" else command[:1]
        assert re.search(rf"^\s+{command[0]}\s", listing.output, flags=re.MULTILINE), \
            f"{name}: no command {command[0]!r} in `jobdelta --help`"
        helped = runner.invoke(main, [*path, "--help"])
        assert helped.exit_code == 0, (name, helped.output)
        for option in (w for w in command if w.startswith("--")):
            assert option in helped.output, f"{name}: `jobdelta {' '.join(path)}` has no {option}"
