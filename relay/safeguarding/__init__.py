"""Safeguarding for minors: redaction, urgent alerts, retention, a person's data, guardians and reassurance."""
