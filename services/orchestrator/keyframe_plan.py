"""Which keyframes a run draws: one per storyboard shot, only those missing or made stale.

A seeder that draws per shot names each keyframe's shot (Keyframe.shot_id); the stored keyframes
are then kept per shot, and a run draws only the shots that have none yet or that an edit or a
per-shot regenerate marked (RunOverrides.redraw_shots). Keyframes drawn per key moment (a seeder
without shots, or a concept without a storyboard) keep the earlier rule: all at first, then the
key moments a regenerate asks for. Pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from lumiere.v1 import seeder_pb2, storyboard_pb2


def by_shot(keyframes: seeder_pb2.GenerateKeyframesResult | None) -> bool:
    """The keyframes are one per storyboard shot."""
    return keyframes is not None and any(k.shot_id for k in keyframes.keyframes)


def shots_to_draw(
    existing: seeder_pb2.GenerateKeyframesResult | None,
    board: storyboard_pb2.Storyboard,
    redraw: Sequence[str],
) -> list[str]:
    """Ids of the shots to draw now, in storyboard order ([] = nothing per shot)."""
    ids = [s.id for s in board.shots]
    if not ids:
        return []
    if existing is None:
        return ids
    if not by_shot(existing):
        # Drawn per key moment: an edit re-draws them all (the seeder may draw shots now).
        return ids if redraw else []
    have = {k.shot_id for k in existing.keyframes}
    stale = set(redraw)
    return [i for i in ids if i not in have or i in stale]


def pruned(
    existing: seeder_pb2.GenerateKeyframesResult, board: storyboard_pb2.Storyboard
) -> seeder_pb2.GenerateKeyframesResult | None:
    """The keyframes without those of shots no longer in the storyboard; None if none go."""
    if not by_shot(existing):
        return None
    ids = {s.id for s in board.shots}
    kept = [k for k in existing.keyframes if k.shot_id in ids]
    if len(kept) == len(existing.keyframes):
        return None
    out = seeder_pb2.GenerateKeyframesResult()
    out.CopyFrom(existing)
    del out.keyframes[:]
    out.keyframes.extend(kept)
    return out


def merged_shots(
    existing: seeder_pb2.GenerateKeyframesResult,
    fresh: seeder_pb2.GenerateKeyframesResult,
    board: storyboard_pb2.Storyboard,
) -> seeder_pb2.GenerateKeyframesResult:
    """One keyframe per shot of `board`, in its order: the fresh drawing where there is one,
    the stored one otherwise. The fresh contact sheet replaces the stored one."""
    drawn = {k.shot_id: k for k in existing.keyframes if k.shot_id}
    drawn.update({k.shot_id: k for k in fresh.keyframes if k.shot_id})
    out = seeder_pb2.GenerateKeyframesResult()
    out.keyframes.extend(drawn[s.id] for s in board.shots if s.id in drawn)
    sheet = fresh.contact_sheet if fresh.HasField("contact_sheet") else existing.contact_sheet
    if sheet.key:
        out.contact_sheet.CopyFrom(sheet)
    return out
