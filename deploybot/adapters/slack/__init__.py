"""Slack: which events count, deduplicated deliveries, users and notifications (the Web API fake for tests is devtools/slack_fake.py)."""
