# The studio image. Workers and the scheduler run the same image with another command:
#   docker run -p 8000:8000 ... hitl-studio                      # studio: UI and API on one port, 8000
#   docker run ... hitl-studio python -m hitl_studio worker      # an RQ worker (needs REDIS_URL)
#   docker run ... hitl-studio python -m hitl_studio scheduler   # the one scheduler (needs REDIS_URL)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REFLEX_USE_NPM=1 \
    HITL_DATA_DIR=/data \
    HITL_FRONTEND_PORT=8000 \
    HITL_BACKEND_PORT=8000 \
    PATH=/app/.venv/bin:$PATH

WORKDIR /app
RUN python -m venv /app/.venv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# Behind a proxy or on another host, set HITL_API_URL (and HITL_PUBLIC_URL) to the address browsers use:
# the production frontend is compiled at start with that address in it.
VOLUME /data
EXPOSE 8000
CMD ["sh", "-c", "python -m hitl_studio migrate && exec reflex run --env prod --single-port --frontend-port 8000 --backend-port 8000"]
