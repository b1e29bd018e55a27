"""deploybot.rasa_glue.rasa_server hands the API token to `rasa run` as one argument."""
import argparse

import pytest
from rasa.cli.arguments.run import add_server_arguments

from deploybot.rasa_glue.rasa_server import ACTIONS_TOKEN_ENV, API_TOKEN_ENV, rasa_argv


@pytest.mark.parametrize("token", ["plain-token", "-starts-with-a-dash", "--looks-like-an-option"])
def test_any_generated_token_reaches_rasa_as_the_token(token):
    # secrets.token_urlsafe gives a token starting with "-" once in 64: `make run` then failed
    # with "argument -t/--auth-token: expected one argument".
    argv = rasa_argv(["--enable-api", "--port", "5005"], {API_TOKEN_ENV: token, ACTIONS_TOKEN_ENV: "x"})
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    parsed, _ = parser.parse_known_args(argv[2:])
    assert parsed.auth_token == token
