"""The daemon put together: the service that builds and starts every part, `run`, health, doctor, systemd."""
