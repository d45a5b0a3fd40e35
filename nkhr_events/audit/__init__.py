"""The audit trail of staff actions and its staff page."""
