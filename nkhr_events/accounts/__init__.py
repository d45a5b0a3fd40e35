"""Staff accounts: sign-in and sign-out, password change and reset, server-side sessions and the
sign-in throttle, roles, and the admins' account pages."""
