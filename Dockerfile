# One image for every yuqing worker; the command picks the stage.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk libreoffice-writer-nogui \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
COPY yuqing ./yuqing
COPY collectors ./collectors
COPY processors ./processors
COPY alerts ./alerts
COPY ledger ./ledger
COPY schemes ./schemes
COPY web ./web
COPY corrections ./corrections
COPY briefings ./briefings
COPY notify ./notify
RUN pip install .
RUN useradd --system --home /var/lib/yuqing yuqing && mkdir -p /var/lib/yuqing && chown yuqing /var/lib/yuqing
USER yuqing
WORKDIR /var/lib/yuqing
ENTRYPOINT ["yuqing"]
CMD ["--help"]
