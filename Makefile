# The two commands of the README: `make run` and `make test`.
# Both create .venv and install what they need; after either, .venv/bin/jobdelta is the CLI.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install install-test chromium lint bench drills lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Everything (every extra: browser, workers, postgres) at the versions pinned in constraints.txt.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[all]'
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[all,test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test chromium

# Browser boards use Debian's Chromium; Playwright's own browser download is never used.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium from Debian's packages"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The main job on its embedded default: SQLite and the bundled offline demo board.
run: install
	$(BIN)/jobdelta demo

# The whole suite (PostgreSQL and Redis tests run when the servers are up; in CI they must be).
test: install-test
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/store_scale.py
	$(BIN)/python bench/browser_memory.py
	$(BIN)/python bench/board_sim.py
	$(BIN)/python bench/drills.py --quick
	$(BIN)/python bench/web_speed.py --sizes 10000
	$(BIN)/python bench/crawl_speed.py --sizes 1000,5000,10000 --markdown docs/bench_crawl_speed.md
	$(BIN)/python bench/big_board.py --markdown docs/bench_big_board.md
	$(BIN)/python bench/many_sources.py --postgres --markdown docs/bench_many_sources.md
	$(BIN)/python bench/cli_startup.py

# The reliability drills in full (every fault alone and mixed, 20 kills, PostgreSQL
# restarted on a private cluster, a Celery worker killed): see docs/reliability.md.
DRILLS_ARGS ?=
drills: install
	$(BIN)/python bench/drills.py $(DRILLS_ARGS)

# Pin every dependency of pyproject.toml and of every extra (their dependencies too) in
# constraints.txt, which the Dockerfile and the installs above use. Run it after editing the
# dependencies (tests/test_packaging.py fails until then); pins still allowed are kept, so
# `make lock LOCK_ARGS=--upgrade` moves everything to the newest versions allowed.
LOCK_ARGS ?=
lock: | $(BIN)/python
	$(BIN)/pip install --quiet pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --strip-extras \
	  --extra browser --extra workers --extra postgres --extra test \
	  --allow-unsafe --no-emit-index-url --no-emit-find-links --output-file constraints.txt $(LOCK_ARGS) pyproject.toml

clean:
	rm -rf $(VENV) jobdelta-demo .jobdelta .pytest_cache
