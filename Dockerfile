# syntax=docker/dockerfile:1
# Captcha solver: HTTP API (default target) and web UI (target "ui").
#
#   docker build -t captcha-solver .                 # API: captcha-solver serve
#   docker build -t captcha-solver-ui --target ui .  # UI:  captcha-solver ui --public
#
# Inference dependencies only (numpy, OpenCV headless, onnxruntime and the
# API's web stack): no torch, no scikit-learn. Wheels are built in a throw-away
# stage and installed offline in the runtime stage, so no compiler or build
# cache reaches the final image.

ARG PYTHON_VERSION=3.11

# ---------------------------------------------------------------- build: wheels
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
# The project's wheel (with config.yaml and the default model/ inside) and every dependency's.
RUN pip wheel --wheel-dir /wheels ".[serve]"

FROM build AS build-ui
RUN pip wheel --wheel-dir /wheels ".[serve,ui]"

# -------------------------------------------------------------- runtime: shared
FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    # One thread per request for onnxruntime/OpenCV: requests already run in parallel.
    OMP_NUM_THREADS=1 \
    # Settings live on the shared data volume, so the UI's saved edits reach every service.
    CAPTCHA_SOLVER_CONFIG=/app/data/config.yaml \
    # Public deployment: the UI saves settings only with CAPTCHA_ADMIN_TOKEN set.
    CAPTCHA_SOLVER_PUBLIC=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    HOME=/tmp
RUN groupadd --gid 10001 solver && useradd --uid 10001 --gid solver --no-create-home --shell /usr/sbin/nologin solver
WORKDIR /app
# ./model and ./data are volumes; ./config.yaml points into data/ (dangling until the first save:
# then the packaged defaults apply), so `captcha-solver predict` reads the same settings as the API.
RUN mkdir -p /app/model /app/data && ln -s /app/data/config.yaml /app/config.yaml \
    && chown solver:solver /app/model /app/data
VOLUME ["/app/model", "/app/data"]
ENTRYPOINT ["captcha-solver"]

# ------------------------------------------------------------------------- ui
FROM runtime AS ui
RUN --mount=type=bind,from=build-ui,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "captcha-solver[serve,ui]"
USER solver
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:7860/', timeout=4).status != 200)"]
CMD ["ui", "--public", "--no-browser", "--host", "0.0.0.0", "--port", "7860"]

# ------------------------------------------------------------ api (default)
FROM runtime AS api
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "captcha-solver[serve]"
USER solver
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
