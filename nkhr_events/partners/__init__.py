"""Partner organizations and their co-organizer or sponsor partnerships per event."""
