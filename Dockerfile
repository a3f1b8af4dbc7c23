# Earshot image for the api and worker services (docker-compose.yml).
#
# CPU-only torch goes in first, in its own layer: it is the largest download
# and changes least. The shipped sentiment model (nlp/model/) is copied in, so
# the container never downloads a model at start-up.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/var/lib/earshot/hf

# WeasyPrint (PDF reports) needs Pango; fonts for charts and PDFs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY earshot/ earshot/
COPY store/ store/
COPY crawlers/ crawlers/
COPY nlp/ nlp/
COPY alerts/ alerts/
COPY reports/ reports/
COPY api/ api/
COPY config/ config/
# Editable install: modules (and nlp/model/) stay under /app, where the code looks for them.
RUN pip install -e ".[nlp,lexicon,crawl,es,reports]"
RUN test -d nlp/model || { echo "nlp/model/ is missing: the image must bake in the shipped model" >&2; exit 1; }

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/earshot --no-create-home earshot \
    && mkdir -p /var/lib/earshot /etc/earshot \
    && chown -R earshot:earshot /var/lib/earshot
USER earshot:earshot

ENV EARSHOT_DATA_DIR=/var/lib/earshot \
    EARSHOT_API_HOST=0.0.0.0 \
    EARSHOT_API_PORT=8000
VOLUME ["/var/lib/earshot"]
EXPOSE 8000
STOPSIGNAL SIGTERM
CMD ["earshot", "serve", "--host", "0.0.0.0", "--port", "8000"]
