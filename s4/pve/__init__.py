"""Proxmox VE-compatible lab server: speaks the PVE HTTP API, backs its VMs with podman containers (docs/PVE.md)."""
