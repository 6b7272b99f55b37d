FROM python:3.11-slim
COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /usr/local/bin/uv
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY fare fare
COPY validators validators
COPY settlement settlement
COPY ticketing ticketing
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH" TICKETING_DATA_DIR=/data
USER nobody
EXPOSE 8000
CMD ["ticketing", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
