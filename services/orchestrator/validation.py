"""Checks and defaults for client requests (pure functions, no I/O).

The id rule and the limits are the contract's (services/common/contract.py), so a project the
gateway accepts is one every stage accepts.
"""

from __future__ import annotations

from lumiere.v1 import common_pb2, orchestrator_pb2

from services.common import contract
from services.common.errors import InvalidInput
from services.common.storage import validate_key
from services.orchestrator import storyboards


def project_id_or_new(project_id: str) -> str:
    return contract.check_project_id(project_id) if project_id else contract.new_project_id()


def check_prompt(prompt: str, max_chars: int) -> str:
    prompt = prompt.strip()
    if not prompt:
        raise InvalidInput("prompt is empty: describe the video you want")
    if len(prompt) > max_chars:
        raise InvalidInput(f"prompt is {len(prompt)} characters long; the limit is {max_chars}")
    return prompt


def check_ref(name: str, ref: common_pb2.ArtifactRef) -> None:
    if not ref.key:
        raise InvalidInput(f"{name} is missing: upload it first and pass its artifact key")
    try:
        validate_key(ref.key)
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc}") from None


def project_spec(
    req: orchestrator_pb2.CreateProjectRequest,
    max_prompt_chars: int,
    shot_backends: list[str] | None = None,
) -> orchestrator_pb2.Project:
    """The project a create request describes, checked and with defaults filled in.
    `shot_backends`: the deployment's allow-list (None: only the known names are checked)."""
    project_id = project_id_or_new(req.project_id)
    check_shot_backend(req.options.shot_backend, shot_backends)
    if req.options.keyframe_backend not in ("", *contract.KEYFRAME_BACKENDS):
        raise InvalidInput(
            f"unknown keyframe_backend {req.options.keyframe_backend!r} "
            f"(known: {', '.join(contract.KEYFRAME_BACKENDS)})"
        )
    prompt = check_prompt(req.prompt, max_prompt_chars)
    check_ref("audio", req.audio)
    if len(req.character_images) > contract.MAX_CHARACTER_IMAGES:
        raise InvalidInput(
            f"{len(req.character_images)} character images given; "
            f"the limit is {contract.MAX_CHARACTER_IMAGES}"
        )
    for i, ref in enumerate(req.character_images):
        check_ref(f"character_images[{i}]", ref)
    spec = orchestrator_pb2.Project(
        id=project_id,
        prompt=prompt,
        audio=req.audio,
        character_images=list(req.character_images),
        options=options_with_defaults(req.options),
    )
    if req.HasField("lyrics") and req.lyrics.key:
        check_ref("lyrics", req.lyrics)
        spec.lyrics.CopyFrom(req.lyrics)
    if req.HasField("storyboard"):
        # The song is not analysed yet: its length and beats are checked after the concept.
        try:
            storyboards.check_shape(req.storyboard, max_prompt_chars)
        except InvalidInput as exc:
            raise InvalidInput(f"storyboard: {exc}") from None
        spec.initial_storyboard.CopyFrom(req.storyboard)
    return spec


def check_shot_backend(name: str, allowed: list[str] | None) -> None:
    if not name:
        return
    if name not in contract.SHOT_BACKENDS:
        raise InvalidInput(
            f"unknown shot_backend {name!r} (known: {', '.join(contract.SHOT_BACKENDS)})"
        )
    if allowed is not None and name not in allowed:
        raise InvalidInput(
            f"shot_backend {name!r} is not offered by this deployment "
            f"(allowed: {', '.join(allowed)})"
        )


def input_refs(spec: orchestrator_pb2.Project) -> list[tuple[str, common_pb2.ArtifactRef]]:
    """The uploads a project reads, by the name a person knows them by."""
    refs = [("audio", spec.audio)]
    refs += [(f"character_images[{i}]", r) for i, r in enumerate(spec.character_images)]
    if spec.HasField("lyrics"):
        refs.append(("lyrics", spec.lyrics))
    return refs


def options_with_defaults(
    options: orchestrator_pb2.ProjectOptions,
) -> orchestrator_pb2.ProjectOptions:
    out = orchestrator_pb2.ProjectOptions()
    out.CopyFrom(options)
    if out.width == 0 and out.height == 0:
        out.width, out.height = contract.DEFAULT_WIDTH, contract.DEFAULT_HEIGHT
    if out.fps == 0:
        out.fps = contract.DEFAULT_FPS
    if out.quality == common_pb2.QUALITY_UNSPECIFIED:
        out.quality = common_pb2.QUALITY_FINAL
    min_side, max_w, max_h = contract.MIN_SIDE, contract.MAX_WIDTH, contract.MAX_HEIGHT
    if not (min_side <= out.width <= max_w and min_side <= out.height <= max_h):
        raise InvalidInput(
            f"video size {out.width}x{out.height} is out of range: width {min_side}-{max_w}, "
            f"height {min_side}-{max_h} (or leave both 0 for "
            f"{contract.DEFAULT_WIDTH}x{contract.DEFAULT_HEIGHT})"
        )
    if out.width % 2 or out.height % 2:
        raise InvalidInput(
            f"video size {out.width}x{out.height} must have even sides (H.264 yuv420p)"
        )
    if not 1 <= out.fps <= contract.MAX_FPS:
        raise InvalidInput(f"fps must be between 1 and {contract.MAX_FPS}, got {out.fps}")
    if out.quality not in common_pb2.Quality.values():
        raise InvalidInput(f"unknown quality {out.quality}")
    if not 0 <= out.key_moment_count <= contract.MAX_KEY_MOMENTS:
        raise InvalidInput(
            f"key_moment_count must be 0 (chosen from the music) to {contract.MAX_KEY_MOMENTS}, "
            f"got {out.key_moment_count}"
        )
    if len(out.style) > contract.MAX_STYLE_CHARS:
        raise InvalidInput(
            f"style is {len(out.style)} characters long; the limit is {contract.MAX_STYLE_CHARS}"
        )
    return out
