"""Glue to Rasa: server entry points, patches, payloads, lock store; the domain and policy never import it."""
