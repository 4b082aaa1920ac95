"""Name tables generated from proto enums, so no module restates an enum's members.

The names are the proto's own, lowercase without their prefix: SECTION_ROLE_CHORUS -> "chorus".
"""

from __future__ import annotations

from google.protobuf.descriptor import EnumDescriptor


def enum_values(enum: EnumDescriptor, prefix: str) -> dict[str, int]:
    """Name -> value for every member but the UNSPECIFIED one (number 0), in proto order."""
    return {v.name.removeprefix(prefix).lower(): v.number for v in enum.values if v.number != 0}
