# Gateway image: build a wheel in one stage, run it as a non-root user in a slim one.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY adapters adapters
COPY bundles bundles
COPY sandbox sandbox
COPY proto proto
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/gateway --create-home gateway
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER gateway
WORKDIR /var/lib/gateway
ENV PSG_SERVER__ADDRESS=0.0.0.0:50051 PSG_STATE_DIR=/var/lib/gateway/state
EXPOSE 50051
ENTRYPOINT ["partner-gateway"]
CMD ["serve"]
