"""deploybot: ChatOps deployments in plain language.

The Rasa glue lives at the top level (actions/, components/); this package holds the
logic it stands on, testable without Rasa: the app catalog, the assistant profiles,
versions, the deploy request, the messages, the language pipeline and the local stack.
"""
