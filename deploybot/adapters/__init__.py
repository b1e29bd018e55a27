"""Adapters to Jenkins, Slack and the terminal chat; the domain and policy never import them."""
