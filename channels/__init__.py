"""Rasa input and output channels of our own, named by module path in credentials.yml."""
