# jobdelta: crawler, scheduler, CLI and web app in one image.
# Chromium comes from Debian's packages (browser boards); Playwright never downloads a browser.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    JOBDELTA_CONFIG=/data/jobdelta.toml

RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY crawler ./crawler
COPY spiders ./spiders
COPY scheduler ./scheduler
COPY db ./db
COPY web ./web
RUN pip install . && useradd --create-home jobdelta && mkdir -p /data && chown jobdelta /data

USER jobdelta
WORKDIR /data
VOLUME ["/data"]
# `jobdelta serve --host 0.0.0.0` (needs [web] token_env) listens here
EXPOSE 8000
ENTRYPOINT ["jobdelta"]
CMD ["--help"]
