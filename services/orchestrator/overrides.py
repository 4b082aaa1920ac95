"""What a regenerate changed, kept with the project for every later run (`RunOverrides`).

Serialised in exactly one place (`to_json`/`from_json`, the `overrides` column). The JSON keys
are those of the earlier free-form dict, so rows written before this type existed still load.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Seeds travel as proto int64: a derived seed is wrapped into range rather than overflowing.
_INT64_SPAN = 2**63


@dataclass(frozen=True)
class RunOverrides:
    # Segment index -> the seed its render uses instead of the project seed + index.
    segment_seeds: Mapping[int, int] = field(default_factory=dict)
    # Key moment id -> the prompt its keyframe is drawn with.
    prompt_overrides: Mapping[str, str] = field(default_factory=dict)
    # Key moment id -> the seed its keyframe is drawn with when it alone is re-drawn.
    keyframe_seeds: Mapping[str, int] = field(default_factory=dict)
    # Key moment ids whose keyframes still have to be re-drawn (cleared once they are).
    redraw: tuple[str, ...] = ()
    # Storyboard shot ids whose keyframes still have to be re-drawn (an edit or a per-shot
    # regenerate changed what they show; cleared once they are drawn).
    redraw_shots: tuple[str, ...] = ()
    # The storyboard was edited after the last full run was queued: processing a completed
    # project renders again (only what the edit changed) instead of answering "done".
    storyboard_edited: bool = False

    # -- the one serialised form ---------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {
                "segment_seeds": {str(i): s for i, s in sorted(self.segment_seeds.items())},
                "prompt_overrides": dict(sorted(self.prompt_overrides.items())),
                "keyframe_seeds": dict(sorted(self.keyframe_seeds.items())),
                "redraw": list(self.redraw),
                "redraw_shots": list(self.redraw_shots),
                "storyboard_edited": self.storyboard_edited,
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> RunOverrides:
        data = json.loads(text or "{}")
        return cls(
            segment_seeds={int(i): int(s) for i, s in data.get("segment_seeds", {}).items()},
            prompt_overrides={str(k): str(v) for k, v in data.get("prompt_overrides", {}).items()},
            keyframe_seeds={str(k): int(v) for k, v in data.get("keyframe_seeds", {}).items()},
            redraw=tuple(data.get("redraw", [])),
            redraw_shots=tuple(data.get("redraw_shots", [])),
            storyboard_edited=bool(data.get("storyboard_edited", False)),
        )

    # -- reading -------------------------------------------------------------------------------

    def segment_seed(self, index: int, project_seed: int) -> int:
        return self.segment_seeds.get(index, (project_seed + index) % _INT64_SPAN)

    def keyframe_seed(self, only: Sequence[str], project_seed: int) -> int:
        """The seed for re-drawing `only`: a regenerate's own seed when it re-draws one moment."""
        if len(only) == 1 and only[0] in self.keyframe_seeds:
            return self.keyframe_seeds[only[0]]
        return project_seed

    def prompts_for(self, only: Sequence[str]) -> dict[str, str]:
        """Prompt overrides of the moments drawn now (all of them when `only` is empty)."""
        return {k: v for k, v in self.prompt_overrides.items() if not only or k in only}

    # -- changes -------------------------------------------------------------------------------

    def regenerate(
        self, segment_index: int, seed: int, moment: str, prompt: str, keyframe_seed: int | None
    ) -> RunOverrides:
        """A new take of one segment; a non-empty `prompt` also re-draws its keyframe."""
        changed = dataclasses.replace(
            self, segment_seeds={**self.segment_seeds, segment_index: seed}
        )
        if not prompt:
            return changed
        keyframe_seeds = dict(self.keyframe_seeds)
        if keyframe_seed is not None:
            keyframe_seeds[moment] = keyframe_seed
        return dataclasses.replace(
            changed,
            prompt_overrides={**self.prompt_overrides, moment: prompt},
            keyframe_seeds=keyframe_seeds,
            redraw=tuple(sorted({*self.redraw, moment})),
        )

    def edited(self, shots: Sequence[str]) -> RunOverrides:
        """The storyboard changed: `shots` need new keyframes (on top of any still pending)."""
        return dataclasses.replace(
            self,
            redraw_shots=tuple(dict.fromkeys([*self.redraw_shots, *shots])),
            storyboard_edited=True,
        )

    def shot_take(self, shot_id: str, segment_index: int, seed: int) -> RunOverrides:
        """A new take of one shot: its keyframe is re-drawn and its segment gets `seed`."""
        changed = self.edited([shot_id])
        # The regenerate run renders this (and any earlier) edit itself.
        return dataclasses.replace(
            changed,
            segment_seeds={**self.segment_seeds, segment_index: seed},
            storyboard_edited=False,
        )

    def queued_full(self) -> RunOverrides:
        """A full run was queued: it renders whatever an edit changed."""
        return dataclasses.replace(self, storyboard_edited=False)

    def drawn(self) -> RunOverrides:
        """The keyframes asked for have been re-drawn."""
        return dataclasses.replace(self, redraw=(), redraw_shots=())
