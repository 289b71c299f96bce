"""The client layer: HTTP transport, a run's stream (retry, resume, cancel, record) and the
sync face. It builds on the core and the providers and knows nothing of notebooks."""
