"""The programme: sessions, speakers, sign-up for capped sessions, and an edition's archive."""
