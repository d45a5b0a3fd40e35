"""Registrations, the attendee side: categories, the form, seats and waitlist, email
confirmation holds, the private manage link and the participant list."""
