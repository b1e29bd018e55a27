"""Jenkins: the client the bot deploys through (client.py). Its emulator for tests and `make run` is devtools/jenkins_emulator.py."""
