"""mentor-relay: an email-first relay for online mentoring programs."""
