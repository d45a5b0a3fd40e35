"""Series, events, the public pages and the history of past conferences; the staff home and
the event form."""
