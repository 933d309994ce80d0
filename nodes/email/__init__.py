"""Email nodes: send mail through an SMTP server."""
