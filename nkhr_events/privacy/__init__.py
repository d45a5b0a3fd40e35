"""The attendee's own data, erasure, the retention purge, and key rotation of the data
encrypted at rest."""
