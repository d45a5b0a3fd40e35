"""Registrations: categories, seats, waitlist, manage link, check-in (not built yet)."""
