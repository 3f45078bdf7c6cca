"""The stack's packages and the field each one has in a recorded row.

Package names are compared the way the package index compares them
(:func:`wslab.versions.canonical`, which is :func:`packaging.utils.canonicalize_name`).
"""

from __future__ import annotations

from wslab.versions import STACK_PACKAGES, canonical

__all__ = ["STACK_PACKAGES", "VERSION_FIELDS", "canonical", "field_of"]


#: A recorded row's version field, by package (a Python identifier: ``-`` becomes ``_``).
VERSION_FIELDS: dict[str, str] = {package: package.replace("-", "_") for package in STACK_PACKAGES}


def field_of(package: str) -> str:
    """The recorded row's field for *package* (any spelling of the name)."""
    return VERSION_FIELDS[canonical(package)]
