"""Slack: which events count, deduplicated deliveries, users, notifications and a Web API fake for tests."""
