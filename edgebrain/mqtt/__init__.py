"""The one MQTT client (birth, will, resubscribe), the outbox of held messages, who gets which message."""
