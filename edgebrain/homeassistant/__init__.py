"""Home Assistant over MQTT: discovery payloads (pure functions) and the link that answers its commands."""
