"""The contact sheet (all keyframes on one image): the seeder's, or one drawn here for now.

The seeder already stores a contact sheet (GenerateKeyframesResult.contact_sheet), but the
orchestrator does not pass it on yet: `Project` has no field for it. Until it does, the gateway
draws one from the keyframes (JPEG). Once `Project.contact_sheet` exists, `stored_sheet` finds it
and the route serves the seeder's image; then `ContactSheets` can go.
"""

from __future__ import annotations

import asyncio
import io

from lumiere.v1 import common_pb2
from lumiere.v1 import orchestrator_pb2 as opb
from PIL import Image, ImageDraw, ImageFont

from services.common import contract
from services.common.errors import NotFound
from services.common.storage import ArtifactStore

_PROJECT_HAS_SHEET = "contact_sheet" in opb.Project.DESCRIPTOR.fields_by_name


def stored_sheet(project: opb.Project) -> common_pb2.ArtifactRef | None:
    """The seeder's stored sheet, when the orchestrator reports one."""
    if not _PROJECT_HAS_SHEET:
        return None
    ref: common_pb2.ArtifactRef = getattr(project, "contact_sheet")  # noqa: B009
    return ref if ref.key else None


class ContactSheets:
    """Sheets drawn from keyframes, cached by keyframe content (a re-drawn keyframe is new)."""

    def __init__(self, store: ArtifactStore, capacity: int = 32) -> None:
        self.store = store
        self.capacity = capacity
        self._cache: dict[tuple[str, ...], bytes] = {}

    async def jpeg(self, project: opb.Project) -> bytes | None:
        """The sheet of the project's keyframes, or None when it has none yet."""
        frames = [k for k in project.keyframes if k.image.key]
        if not frames:
            return None
        cache_key = tuple(k.image.sha256 or k.image.key for k in frames)
        data = self._cache.get(cache_key)
        if data is None:
            items = []
            for k in frames:
                if not contract.owns_key(project.id, k.image.key):
                    raise NotFound("artifact not found")
                items.append((k.image.key, f"{k.key_moment_id} @ {k.time:.1f} s"))
            data = await asyncio.to_thread(draw_sheet, self.store, items)
            if len(self._cache) >= self.capacity:
                self._cache.pop(next(iter(self._cache)))
            self._cache[cache_key] = data
        return data


def draw_sheet(store: ArtifactStore, items: list[tuple[str, str]], thumb_w: int = 320) -> bytes:
    """Keyframes as a captioned grid of thumbnails, up to 4 per row (JPEG)."""
    thumbs = []
    for key, _ in items:
        with Image.open(io.BytesIO(store.get_bytes(key))) as src:
            rgb = src.convert("RGB")
        h = max(1, round(rgb.height * thumb_w / rgb.width))
        thumbs.append(rgb.resize((thumb_w, h), Image.Resampling.LANCZOS))
    cols = min(4, len(thumbs))
    rows = -(-len(thumbs) // cols)
    cell_h = max(t.height for t in thumbs)
    gap, caption = 6, 22
    sheet = Image.new(
        "RGB",
        (cols * thumb_w + (cols + 1) * gap, rows * (cell_h + caption) + (rows + 1) * gap),
        (16, 16, 20),
    )
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for i, (thumb, (_, label)) in enumerate(zip(thumbs, items, strict=True)):
        r, c = divmod(i, cols)
        x, y = gap + c * (thumb_w + gap), gap + r * (cell_h + caption + gap)
        sheet.paste(thumb, (x, y))
        draw.text((x + 2, y + cell_h + 3), f"{i}: {label}", fill=(200, 204, 214), font=font)
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=85)
    return out.getvalue()
