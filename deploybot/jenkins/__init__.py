"""Jenkins: the client the bot deploys through (client.py) and a local emulator for tests (emulator.py)."""
