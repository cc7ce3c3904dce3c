# syntax=docker/dockerfile:1
# The gateway image. Build from the repository root:
#   docker build -f docker/gateway.Dockerfile -t partner-gateway:local .
# Stage 1 installs the project into a virtualenv; stage 2 copies only that virtualenv into a
# clean slim image that runs as an unprivileged user. Both stages use the same base image, so
# the virtualenv's interpreter link (/usr/local/bin/python) exists in the runtime stage too.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY proto proto
COPY bundles bundles
COPY adapters adapters
COPY sandbox sandbox
COPY gateway gateway
RUN /opt/venv/bin/pip install --no-cache-dir .

FROM ${PYTHON_IMAGE} AS runtime
# /var/lib/gateway/issuer: where a shared token-signing key is mounted (a volume starts with
# this directory's owner and mode, so the gateway user can create the key there).
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gateway --create-home \
       --shell /usr/sbin/nologin gateway \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/gateway/issuer
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PSG_SERVER__ADDRESS=0.0.0.0:50051 \
    PSG_STATE_DIR=/var/lib/gateway/state
USER 10001:10001
WORKDIR /var/lib/gateway
# gRPC; the embedded token issuer (HTTP), when auth.issuer.address listens beyond loopback.
EXPOSE 50051 8400
# grpc.health.v1 Check from Python (gateway/healthprobe.py): no downloaded probe binary.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "gateway.healthprobe", "--timeout", "3"]
# SIGTERM: health turns NOT_SERVING, calls drain for server.grace_period_s, then exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["partner-gateway"]
CMD ["serve"]
