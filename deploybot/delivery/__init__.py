"""Delivery: starting and following builds and telling each outcome once; domain and policy never import it."""
