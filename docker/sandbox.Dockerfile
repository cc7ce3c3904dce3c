# syntax=docker/dockerfile:1
# The sandbox partners (one telecom, two airlines, one insurer, two car-rental firms) on
# ports 8401-8406. Build from the repository root:
#   docker build -f docker/sandbox.Dockerfile -t partner-sandbox:local .
# Same two stages as gateway.Dockerfile: the sandbox ships in the same Python package.
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
RUN groupadd --system --gid 10001 sandbox \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin sandbox
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8401-8406
# Healthy when every partner answers GET /v1/health (urllib: no curl in the slim image).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; o = u.build_opener(u.ProxyHandler({})); [o.open(f'http://127.0.0.1:{p}/v1/health', timeout=2).close() for p in range(8401, 8407)]"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["partner-gateway", "sandbox"]
CMD ["--host", "0.0.0.0", "--base-port", "8401"]
