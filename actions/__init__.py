"""Rasa custom actions: thin glue between the dialogue and the deploybot package.

One action server runs per bot; DEPLOYBOT_ASSISTANT tells it which profile it serves.
"""
