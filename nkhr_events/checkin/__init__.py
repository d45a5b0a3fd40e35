"""The door: check-in codes and their QR codes, per-day check-ins, door mode and the page a
scanned code opens."""
