# One image for every Lumiere service; the command picks the service:
#   python -m services.concept | services.seeder | services.animator | services.orchestrator | gateway
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LUMIERE_HOST=0.0.0.0 LUMIERE_DATA_DIR=/var/lib/lumiere
WORKDIR /app

# Dependencies first so code changes do not invalidate the layer.
COPY pyproject.toml ./
RUN mkdir -p services gateway && touch services/__init__.py gateway/__init__.py \
 && pip install --no-cache-dir . && pip uninstall -y lumiere

COPY protos ./protos
RUN mkdir gen && python -m grpc_tools.protoc -Iprotos --python_out=gen --grpc_python_out=gen \
      --pyi_out=gen protos/lumiere/v1/*.proto
COPY services ./services
COPY gateway ./gateway
ENV PYTHONPATH=/app:/app/gen

RUN useradd --uid 10001 --create-home lumiere && mkdir -p /var/lib/lumiere \
 && chown lumiere /var/lib/lumiere
USER lumiere
EXPOSE 50051 50052 50053 50054 8000
CMD ["python", "-m", "gateway"]
