# jobdelta: crawler, scheduler, CLI, queue workers and web app in one image.
#
#   docker build -t jobdelta .                            # every board but the browser ones
#   docker build --target browser -t jobdelta:browser .   # + headless Chromium (browser boards)
#
# The config and the SQLite database live on the /data volume
# ($JOBDELTA_CONFIG=/data/jobdelta.toml, the default `sqlite:///jobdelta.db` is /data/jobdelta.db).
# Every version comes from constraints.txt (`make lock`), so a rebuild installs the same set.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: the project's wheel, installed into a venv with its pinned dependencies
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CONSTRAINT=/src/constraints.txt
WORKDIR /src
COPY constraints.txt pyproject.toml README.md ./
COPY crawler ./crawler
COPY spiders ./spiders
COPY scheduler ./scheduler
COPY db ./db
COPY web ./web
# PIP_CONSTRAINT pins the build backend (setuptools) too
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/jobdelta \
 && /opt/jobdelta/bin/pip install "$(echo /wheels/jobdelta-*.whl)[workers,postgres]"

# -- build-browser: the same venv with the browser extra (scrapy-playwright, playwright)
FROM build AS build-browser
RUN /opt/jobdelta/bin/pip install "$(echo /wheels/jobdelta-*.whl)[browser,workers,postgres]"

# -- base: what every runtime image shares (no compiler, no wheels, no source tree)
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/jobdelta/bin:$PATH \
    JOBDELTA_CONFIG=/data/jobdelta.toml
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/jobdelta jobdelta \
 && mkdir -p /data \
 && chown jobdelta:jobdelta /data
USER jobdelta
WORKDIR /data
VOLUME ["/data"]
# `jobdelta serve --host 0.0.0.0` (needs [web] token_env) listens here
EXPOSE 8000
# exit status non-zero when any source is unhealthy (failing, suspicious, blocked)
HEALTHCHECK --interval=5m --timeout=1m --start-period=2m --retries=1 CMD ["jobdelta", "status"]
ENTRYPOINT ["jobdelta"]
CMD ["daemon"]

# -- browser: headless Chromium from Debian's packages; Playwright never downloads a browser
FROM base AS browser
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation \
 && rm -rf /var/lib/apt/lists/*
ENV JOBDELTA_CHROMIUM=/usr/bin/chromium \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
COPY --from=build-browser /opt/jobdelta /opt/jobdelta
USER jobdelta

# -- runtime (the default target, last): no browser
FROM base AS runtime
COPY --from=build /opt/jobdelta /opt/jobdelta
