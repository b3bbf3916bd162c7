"""The home's devices: the registry, the command check, the router, GPIO outputs and MQTT payload styles."""
