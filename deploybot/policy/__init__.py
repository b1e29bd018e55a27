"""Policy: who may do what (grants, two-factor, approvals); may use the domain, never adapters, Rasa, ledger, pipeline."""
