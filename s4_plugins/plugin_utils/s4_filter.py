# SPDX-License-Identifier: MIT
"""Shared pieces of the controller-side filter plugins that wrap the ``s4`` package (poc, poc_golive).

Private to this collection (controller only, Python 3.11+).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError


def need(error: BaseException | None) -> None:
    """Fail clearly when the ``s4`` package (controller-side logic) could not be imported."""
    if error is not None:
        raise AnsibleFilterError(f"the s4 Python package is not importable on the controller: {error}")


def plain(value: Any) -> Any:
    """Ansible lazy containers -> plain dicts/lists (scalars unchanged)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
