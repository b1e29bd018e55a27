"""deploybot: ChatOps deployments in plain language.

Rasa's conventions stay at the top level (actions/, channels/, components/, data/); this
package holds what they stand on, one subpackage per layer (docs/architecture.md): domain,
policy and pipeline (the inner ring, free of Rasa, Slack, Jenkins and the ledger), delivery,
adapters, rasa_glue, ledger, storage, language and the cli entry points.
"""
