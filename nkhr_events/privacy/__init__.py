"""The attendee's own data, erasure, and the retention purge."""
