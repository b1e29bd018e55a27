"""Development tools, not the product: the Jenkins emulator (jenkins_emulator.py), the Slack Web
API fake (slack_fake.py) and the ledger's sample generator (ledger_sample.py). `make run`, the tests
and the benches use them; the wheel (pyproject includes only deploybot*) and the Docker image
(.dockerignore) do not ship them, and nothing under deploybot/ imports them
(tests/unit/test_architecture.py)."""
