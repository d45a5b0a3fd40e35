"""Inquiries: the public contact form and the messages it sends to the team."""
