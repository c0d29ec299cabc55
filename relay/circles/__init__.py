"""Circles: one address for a small group, with a pairing's privacy, oversight and care."""
