"""`rasa run` with the secrets taken from the environment instead of the command line.

    python -m deploybot.rasa_glue.rasa_server --enable-api --port 5005 --model ...   (any `rasa run` option)

`rasa run --auth-token X` shows X to every user of the machine in `ps`; here the token
comes from DEPLOYBOT_API_TOKEN and is handed to Rasa inside this process only (changing
sys.argv does not change what /proc/<pid>/cmdline shows). DEPLOYBOT_ACTIONS_TOKEN, which
endpoints.yml sends to the action server, must be set too: without it anyone on the host
could run the bot's actions. deploybot.rasa_glue.lazy_tensorflow (no TensorFlow unless the model
needs it) and deploybot.rasa_glue.patched_rasa's fixes to Rasa are installed first; on a Rasa they
were not written for, the server does not start (exit status 1, the versions named). Then
deploybot.rasa_glue.api_guard, which keeps the token from acting as a person through the HTTP API.
"""
from __future__ import annotations

import os
import sys

from deploybot.rasa_glue import api_guard, lazy_tensorflow, patched_rasa

API_TOKEN_ENV = "DEPLOYBOT_API_TOKEN"
ACTIONS_TOKEN_ENV = "DEPLOYBOT_ACTIONS_TOKEN"


def rasa_argv(arguments: list[str], environ) -> list[str]:
    """The argv `rasa run` gets: ours, plus the token from the environment."""
    missing = [name for name in (API_TOKEN_ENV, ACTIONS_TOKEN_ENV) if not environ.get(name)]
    if missing:
        raise SystemExit(f"deploybot.rasa_glue.rasa_server: set {' and '.join(missing)} (the Rasa HTTP API and the "
                         "action server must not be open to everyone on this host).")
    if any(a == "--auth-token" or a.startswith("--auth-token=") for a in arguments):
        raise SystemExit("deploybot.rasa_glue.rasa_server: pass the token in DEPLOYBOT_API_TOKEN, not with --auth-token "
                         "(the command line is visible in ps).")
    # One argument, "--auth-token=X": a generated token may start with "-" (secrets.token_urlsafe),
    # which argparse would take for an option as the next argument ("expected one argument").
    return ["rasa", "run", *arguments, f"--auth-token={environ[API_TOKEN_ENV]}"]


def main() -> None:
    sys.argv = rasa_argv(sys.argv[1:], os.environ)
    lazy_tensorflow.install()  # before anything imports spaCy or Rasa's NLU
    if not patched_rasa.install():  # Rasa's per-turn costs and the typed-intent defence, see there
        raise SystemExit(patched_rasa.wrong_version())
    api_guard.install()  # the API token acts as no person (see there)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
