"""The domain: catalog, requests, deployments, batches, locks, profiles; never imports another layer but storage."""
