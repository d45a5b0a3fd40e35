"""Series, events, the public pages and the history of past conferences."""
