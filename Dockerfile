# deploybot image, following Rasa's image conventions: the project in /app, a non-root
# user (1001), `rasa run` (through deploybot.rasa_glue.rasa_server) as the entrypoint. The action servers run the same image with
# `python -m deploybot.rasa_glue.action_server` as their entrypoint (see docker-compose.yml).
# The spaCy pipeline and the model are built into the image: nothing is downloaded at run time.
FROM python:3.10-slim

ENV RASA_TELEMETRY_ENABLED=false \
    TF_ENABLE_ONEDNN_OPTS=0 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1
WORKDIR /app

# .dockerignore leaves out devtools/ (the emulator and fakes): the image talks to a real Jenkins.
COPY . .
RUN pip install --no-cache-dir -c requirements.lock . \
 && python -m deploybot.language.spacy_pipeline --catalog apps.yml --assistants assistants --out build/spacy-en \
 && rasa train --fixed-model-name deploybot --out models \
 && mkdir -p var && chown -R 1001 var

USER 1001
EXPOSE 5005 5055
# `rasa run` with DEPLOYBOT_API_TOKEN from the environment (not visible in ps).
ENTRYPOINT ["python", "-m", "deploybot.rasa_glue.rasa_server"]
CMD ["--enable-api", "--model", "models/deploybot.tar.gz", "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
