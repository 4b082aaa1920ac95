"""What crosses services, defined once: project ids, the artifact key layout, frame math, limits.

Every service (and the gateway) imports these instead of restating them, so a project the
gateway accepts is one every stage accepts, and a key one service writes is the key the others
read. Pure functions and constants; no I/O.
"""

from __future__ import annotations

import bisect
import re
import uuid
from collections.abc import Sequence

from services.common.errors import InvalidInput

# -- project ids ------------------------------------------------------------------------------

# Lowercase letters, digits and '-', starting with a letter or digit: safe as a path segment, an
# S3 key prefix, a DNS label and a URL path parameter. Generated ids are uuid4 hex (32 chars).
PROJECT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
PROJECT_ID_RULE = "1-64 characters of a-z, 0-9 and '-', starting with a letter or digit"
_PROJECT_ID_RE = re.compile(PROJECT_ID_PATTERN)


def is_project_id(value: str) -> bool:
    return bool(_PROJECT_ID_RE.match(value))


def check_project_id(value: str) -> str:
    """The id itself, or InvalidInput naming the rule."""
    if not is_project_id(value):
        raise InvalidInput(f"project_id must be {PROJECT_ID_RULE}, got {value[:80]!r}")
    return value


def new_project_id() -> str:
    return uuid.uuid4().hex


# -- limits -----------------------------------------------------------------------------------

# Character images per project. The seeder composes at most this many figures into a keyframe;
# the gateway and orchestrator reject more at upload/create time.
MAX_CHARACTER_IMAGES = 4
DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_FPS = 1280, 720, 30
MIN_SIDE = 16
MAX_WIDTH, MAX_HEIGHT, MAX_FPS = 3840, 2160, 60
MAX_KEY_MOMENTS = 64
# Character images (services/common/character_image.py): what the gateway accepts at upload is
# what the seeder can compose.
MIN_CHARACTER_SIDE = 16
MAX_CHARACTER_PIXELS = 4096 * 4096
MAX_CHARACTER_SIDE = 8192
MAX_CHARACTER_BYTES = 20 * 1024 * 1024
MAX_STYLE_CHARS = 500
# 20 minutes at 60 fps: the longest video, in frames.
MAX_TOTAL_FRAMES = 20 * 60 * 60

# -- beat confidence --------------------------------------------------------------------------
# The scale of Concept.tempo_confidence and Section.tempo_confidence (docs/concept_rhythm.md):
# at least CONFIDENT_BEAT a steady beat whose bar grid is safe to cut on; SOME_BEAT..CONFIDENT_BEAT
# a beat that moves or is ambiguous; under SOME_BEAT no reliable beat (the director cuts on
# phrases and energy, the animator's accents follow the onsets).
CONFIDENT_BEAT = 0.5
SOME_BEAT = 0.2

# -- versions of what the stages make --------------------------------------------------------

# Bump when the animator renders different frames for the same request (motion, grading,
# encoder settings). It is part of every segment's storage key and of the orchestrator's reuse
# key, so a resumed or regenerated project never mixes renders of two renderer versions.
RENDER_VERSION = "6"

# Shot backends a project can name (ProjectOptions.shot_backend); a deployment offers a subset
# (Settings.shot_backends). "procedural" needs no service and is every generated shot's fallback.
SHOT_BACKENDS = ("procedural", "comfyui", "openai")
# Keyframe backends a project can name (ProjectOptions.keyframe_backend): "" is the deployment's
# (LUMIERE_SEEDER_BACKEND), "procedural" opts out of it; another name must be the deployment's.
KEYFRAME_BACKENDS = ("procedural", "comfyui", "openai", "automatic1111")

# -- frame math -------------------------------------------------------------------------------


def total_frames(duration_s: float, fps: int) -> int:
    """The video has exactly round(duration x fps) frames (at least one)."""
    if fps <= 0:
        raise InvalidInput(f"fps must be positive, got {fps}")
    if not duration_s > 0:
        raise InvalidInput(f"song duration must be positive, got {duration_s}")
    frames = int(round(duration_s * fps))
    if frames < 1:
        raise InvalidInput(f"song of {duration_s:.3f} s is shorter than one frame at {fps} fps")
    return frames


def time_to_frame(time_s: float, fps: int) -> int:
    """The frame on which an event at `time_s` lands (nearest frame start)."""
    return int(round(time_s * fps))


def frame_to_time(frame: int, fps: int) -> float:
    return frame / fps


# A cut this close after a downbeat is on it (the director rounds cut times to 0.1 ms).
BAR_EPSILON_S = 1e-3


def shot_bars(downbeats: Sequence[float], start_s: float, end_s: float) -> tuple[int, int]:
    """A shot's [start_bar, end_bar) on the downbeat grid (sorted times): the bar holding its
    start, one past the bar holding its last instant; (-1, -1) without downbeats. The director
    numbers its shots so, and an edited storyboard is renumbered with the same rule."""
    if not downbeats:
        return -1, -1
    first = bisect.bisect_right(downbeats, start_s + BAR_EPSILON_S) - 1
    last = bisect.bisect_right(downbeats, end_s - BAR_EPSILON_S) - 1
    return max(first, 0), max(last, 0) + 1


# -- artifact keys ----------------------------------------------------------------------------
# uploads/{project}/...  what the client sent; outputs/{project}/...  what the stages made.


def uploads_prefix(project_id: str) -> str:
    return f"uploads/{project_id}/"


def outputs_prefix(project_id: str) -> str:
    return f"outputs/{project_id}/"


def project_prefixes(project_id: str) -> tuple[str, str]:
    """Every key of a project lives under one of these (delete removes both)."""
    return uploads_prefix(project_id), outputs_prefix(project_id)


def owns_key(project_id: str, key: str) -> bool:
    return key.startswith(project_prefixes(project_id))


def audio_key(project_id: str, ext: str) -> str:
    return f"{uploads_prefix(project_id)}audio.{ext}"


def character_key(project_id: str, index: int, ext: str) -> str:
    return f"{uploads_prefix(project_id)}character_{index}.{ext}"


def lyrics_key(project_id: str, ext: str) -> str:
    return f"{uploads_prefix(project_id)}lyrics.{ext}"


def owner_key(project_id: str) -> str:
    return f"{uploads_prefix(project_id)}owner.txt"


def concept_key(project_id: str) -> str:
    return f"{outputs_prefix(project_id)}concept.json"


def storyboard_key(project_id: str) -> str:
    """The storyboard (the plan in use: the director's or the user's edit) as JSON."""
    return f"{outputs_prefix(project_id)}storyboard.json"


def keyframe_key(project_id: str, index: int, digest: str) -> str:
    return f"{outputs_prefix(project_id)}seeds/seed_{index}_{digest}.png"


# Storyboard shot ids (Shot.id, "shot-007") become part of a key: a path-safe subset.
SHOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_SHOT_ID_RE = re.compile(SHOT_ID_PATTERN)


def is_shot_id(value: str) -> bool:
    return bool(_SHOT_ID_RE.match(value))


def shot_keyframe_key(project_id: str, shot_id: str, digest: str) -> str:
    """The keyframe of one storyboard shot (one per shot; `digest` hashes what shapes it)."""
    if not is_shot_id(shot_id):
        raise InvalidInput(
            f"shot id must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-', got {shot_id[:80]!r}"
        )
    return f"{outputs_prefix(project_id)}seeds/shot_{shot_id}_{digest}.png"


def contact_sheet_key(project_id: str, digest: str) -> str:
    return f"{outputs_prefix(project_id)}seeds/contact_sheet_{digest}.png"


def segment_key(project_id: str, index: int, digest: str) -> str:
    return f"{outputs_prefix(project_id)}animations/anim_{index:03d}_{digest}.mp4"


def clip_key(project_id: str, shot_id: str, digest: str) -> str:
    """A generated clip, keyed by the hash of everything that shaped it (backend, workflow,
    prompt, seed, size, length, images): resume and regenerate find it instead of paying again."""
    return f"{outputs_prefix(project_id)}clips/{shot_id or 'shot'}_{digest}.mp4"


def final_video_key(project_id: str) -> str:
    return f"{outputs_prefix(project_id)}final_video.mp4"


def preview_video_key(project_id: str) -> str:
    return f"{outputs_prefix(project_id)}preview.mp4"
