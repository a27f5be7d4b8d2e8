# Captcha solver: HTTP API (default target "api") and web UI (target "ui").
#
#   docker build -t captcha-solver .                 # API: captcha-solver serve
#   docker build -t captcha-solver-ui --target ui .  # UI:  captcha-solver ui --public
#   docker run --rm -p 8000:8000 -v "$PWD/data:/app/data" captcha-solver
#
# Builds with the classic builder and with BuildKit (no `syntax` directive, no RUN --mount).
# BASE_IMAGE is any Debian-like image with Python 3.11 and its venv module: the official
# slim image by default; where no registry is reachable, the one deploy/base-image.sh makes
# (`--build-arg BASE_IMAGE=captcha-solver-base:bookworm`).
#
# Inference dependencies only (numpy, OpenCV headless, onnxruntime and the API's web stack;
# the UI adds Gradio): no torch, no scikit-learn. Everything is installed into /opt/venv in
# a build stage and only that folder reaches the runtime image: no wheels, caches or build
# tools. The classic builder builds every stage before the target, so building "api" also
# builds the UI stages (BuildKit skips them).

ARG BASE_IMAGE=python:3.11-slim

# ------------------------------------------------------------- build: shared tools
FROM ${BASE_IMAGE} AS build-base
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 LANG=C.UTF-8
# The wheel's build backend, installed once so that building the project's wheel needs no network.
RUN python3 -m venv /opt/build-tools && /opt/build-tools/bin/pip install --quiet "poetry-core>=2.0,<3"
WORKDIR /src
# Only pyproject.toml first: the dependency layers below are rebuilt when it changes, not on every
# source edit. Writes one requirements file per image: the runtime dependencies plus an extra.
COPY pyproject.toml /src/pyproject.toml
RUN python3 -c 'import sys, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; extra = p["optional-dependencies"]; [open(f"/tmp/requirements-{name}.txt", "w").write("\n".join(p["dependencies"] + [d for e in extras.split("+") for d in extra[e]]) + "\n") for name, extras in (("api", "serve"), ("ui", "serve+ui"))]' \
    && cat /tmp/requirements-api.txt

# ---------------------------------------------- build: dependencies (cached layers)
FROM build-base AS deps-api
# dumb-init (a static binary from PyPI) is PID 1: it forwards SIGTERM to the solver and reaps
# children, so `docker stop` ends a batch run or the UI at once instead of after the kill timeout.
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --quiet -r /tmp/requirements-api.txt "dumb-init==1.2.5.post1"

FROM deps-api AS deps-ui
RUN /opt/venv/bin/pip install --quiet -r /tmp/requirements-ui.txt

# ----------------------------------------------------------- build: the project
FROM deps-api AS build
COPY . /src
ARG VERSION=0.1.0
# The project as a wheel (the default model and config.yaml inside), installed without its
# dependencies (all there already); pip check proves nothing is missing, then pip itself goes
# (the runtime image installs nothing). The version check keeps the image's label honest.
RUN /opt/build-tools/bin/pip wheel --quiet --no-deps --no-build-isolation --wheel-dir /wheels /src \
    && { ls /wheels/captcha_solver-${VERSION}-*.whl >/dev/null 2>&1 \
         || { echo "error: built $(ls /wheels) but VERSION=${VERSION}; pass --build-arg VERSION=<pyproject.toml's version>" >&2; exit 1; }; } \
    && /opt/venv/bin/pip install --quiet --no-deps --no-index /wheels/captcha_solver-*.whl \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/python -m pip uninstall --quiet --yes pip setuptools

FROM deps-ui AS build-ui
COPY --from=build /wheels /wheels
RUN /opt/venv/bin/pip install --quiet --no-deps --no-index /wheels/captcha_solver-*.whl && /opt/venv/bin/pip check \
    && /opt/venv/bin/python -m pip uninstall --quiet --yes pip setuptools

# ---------------------------------------------------------------- runtime: shared
FROM ${BASE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=""
LABEL org.opencontainers.image.title="captcha-solver" \
      org.opencontainers.image.description="Text-captcha solver: HTTP API, web UI and batch predict (captcha-solver CLI)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/venv/bin:$PATH \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    # One thread per request for onnxruntime/OpenCV: requests already run in parallel.
    OMP_NUM_THREADS=1 \
    # Settings live on the shared data volume, so the UI's saved edits reach every service.
    CAPTCHA_SOLVER_CONFIG=/app/data/config.yaml \
    # Public deployment: the UI saves settings only with CAPTCHA_ADMIN_TOKEN set.
    CAPTCHA_SOLVER_PUBLIC=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    # The root file system may be read-only: home and caches go to the /tmp tmpfs.
    HOME=/tmp
# The user is written into /etc/passwd directly: a minimal Debian base has no useradd.
RUN echo "solver:x:10001:10001:captcha solver:/tmp:/usr/sbin/nologin" >>/etc/passwd \
    && echo "solver:x:10001:" >>/etc/group \
    && mkdir -p /app/model /app/data && chown 10001:10001 /app/model /app/data
WORKDIR /app
# ./data receives results.csv, log_file.log and config.yaml; ./model (empty: the model inside
# the package is used) is mounted by whoever has a trained model. Any --user uid:gid works.
VOLUME ["/app/data"]
ENTRYPOINT ["dumb-init", "--", "captcha-solver"]

# ---------------------------------------------------------------------------- ui
FROM runtime AS ui
COPY --from=build-ui /opt/venv /opt/venv
USER 10001:10001
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ.get('HEALTH_PORT', '7860'), timeout=4).status != 200)"]
CMD ["ui", "--public", "--no-browser", "--host", "0.0.0.0", "--port", "7860"]

# ------------------------------------------------------------------ api (default)
FROM runtime AS api
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
# HEALTH_PORT: the port the API listens on when it is not 8000 (host networking).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HEALTH_PORT', '8000'), timeout=4).status != 200)"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
