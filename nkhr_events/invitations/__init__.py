"""Invitations: invitation-only categories, single-use links and reserved seats."""
