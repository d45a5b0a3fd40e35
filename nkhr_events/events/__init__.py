"""Series, events, the public pages and the history of past conferences, calendar files; the
staff home and the event form."""
