"""The staff side of registrations: the roster and its filters, a person's page, decisions,
messages to a group, exports, badges and sign-in sheets, the dashboard, category settings and
cancelling a flood."""
