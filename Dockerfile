# One image for the three roles of CloudManager: `cloudmanager web` (default), `cloudmanager worker`
# and `cloudmanager migrate`. Used by temporal-compose.yml; build with `docker build -t cloudmanager:local .`

# --- Front-end assets from the npm registry (git-ignored in the repo, fetched by `make vendor`) ----
FROM node:20-bookworm-slim AS vendor
WORKDIR /build
RUN npm pack --silent htmx.org@2.0.11 swagger-ui-dist@5 \
 && mkdir -p htmx swagger /vendor/swagger-ui \
 && tar -xzf htmx.org-*.tgz -C htmx \
 && tar -xzf swagger-ui-dist-*.tgz -C swagger \
 && cp htmx/package/dist/htmx.min.js /vendor/htmx.min.js \
 && cp swagger/package/swagger-ui-bundle.js swagger/package/swagger-ui.css /vendor/swagger-ui/

# --- The application -----------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVIRONMENT=production \
    WEB_HOST=0.0.0.0 \
    WEB_PORT=8000 \
    DATA_DIR=/data

# Pango, HarfBuzz and fonts for WeasyPrint (PDF invoices); curl for health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-core curl \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 cloudmanager \
 && useradd --system --uid 10001 --gid cloudmanager --home-dir /home/cloudmanager --create-home \
      --shell /usr/sbin/nologin cloudmanager \
 && install -d -o cloudmanager -g cloudmanager /data /app

# Dependencies first, from pyproject.toml alone, so that a code change does not reinstall them.
COPY pyproject.toml /tmp/src/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/src/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Then the project itself, with the vendored assets inside the installed `web` package.
COPY . /tmp/src
COPY --from=vendor /vendor/ /tmp/src/web/static/vendor/
RUN pip install --no-deps /tmp/src \
 && rm -rf /tmp/src \
 && cloudmanager --help > /dev/null

# An empty working directory: modules are imported from site-packages, never from a source tree.
WORKDIR /app
USER cloudmanager
EXPOSE 8000

CMD ["cloudmanager", "web"]
