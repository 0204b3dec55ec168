# The ignite-etl code location: the Dagster code server, run workers, Celery workers and the ingress all run
# this image (DEPLOYING.md). Build from the repository root: docker build -t ignite-etl:0.1.0 .
FROM python:3.11-slim-bookworm

# make runs the same install step as a developer's `make dev`; nothing else is added to the base image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --user-group ignite

WORKDIR /opt/ignite-etl
COPY --chown=ignite:ignite pyproject.toml README.md Makefile workspace.yaml ./
COPY --chown=ignite:ignite ignite_etl ./ignite_etl
COPY --chown=ignite:ignite sql ./sql
COPY --chown=ignite:ignite deploy ./deploy

USER ignite
RUN make install PYTHON=python3.11

# deploy/dagster.yaml is the instance outside Kubernetes; Dagster's Helm chart mounts its own instance here.
ENV PATH=/opt/ignite-etl/.venv/bin:$PATH \
    DAGSTER_HOME=/opt/ignite-etl/dagster_home \
    IGNITE_ENV=production \
    IGNITE_HOME=/tmp/ignite \
    PYTHONUNBUFFERED=1
RUN mkdir -p "$DAGSTER_HOME" && cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml"

EXPOSE 3030 8090
CMD ["dagster", "code-server", "start", "--host", "0.0.0.0", "--port", "3030", "--module-name", "ignite_etl.definitions"]
