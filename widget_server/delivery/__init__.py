"""Delivery: the transactional outbox, the worker and the destination adapters."""
