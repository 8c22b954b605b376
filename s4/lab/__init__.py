"""The lab: a local stand-in for the provider's estate (podman containers booting systemd)."""
