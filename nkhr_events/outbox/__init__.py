"""The transactional outbox: every email the product sends."""
