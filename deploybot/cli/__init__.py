"""Command-line entry points (python -m deploybot.cli.stack): they wire the parts; no product module imports them."""
