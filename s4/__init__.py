"""S4 Toolkit controller-side logic (pure Python, importable without Ansible)."""

__version__ = "0.1.0"
