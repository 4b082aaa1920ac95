"""Request checks and defaults, and the preview's video settings."""

from __future__ import annotations

import pytest
from lumiere.v1 import common_pb2, orchestrator_pb2

from services.common import contract
from services.common.errors import InvalidInput
from services.orchestrator import validation as v
from services.orchestrator.video import preview_settings


def test_project_ids() -> None:
    assert len(v.project_id_or_new("")) == 32
    assert v.project_id_or_new("my-song-2") == "my-song-2"
    for bad in ["My-Song", "a_b", "a/b", "x" * 65, "émoji", " a", "-leading-dash"]:
        with pytest.raises(InvalidInput, match="project_id"):
            v.project_id_or_new(bad)


def test_option_defaults_and_bounds() -> None:
    o = v.options_with_defaults(orchestrator_pb2.ProjectOptions())
    assert (o.width, o.height, o.fps, o.quality) == (1280, 720, 30, common_pb2.QUALITY_FINAL)
    kept = v.options_with_defaults(orchestrator_pb2.ProjectOptions(width=320, height=180, fps=12))
    assert (kept.width, kept.height, kept.fps) == (320, 180, 12)
    for bad, fragment in [
        (dict(width=320), "out of range"),  # height 0 with a width
        (dict(width=8000, height=720), "out of range"),
        (dict(width=321, height=180), "even"),
        (dict(fps=61), "fps"),
        (dict(key_moment_count=-1), "key_moment_count"),
        (dict(style="s" * 501), "style"),
    ]:
        with pytest.raises(InvalidInput, match=fragment):
            v.options_with_defaults(orchestrator_pb2.ProjectOptions(**bad))


def _create(images: int) -> orchestrator_pb2.CreateProjectRequest:
    ref = common_pb2.ArtifactRef
    return orchestrator_pb2.CreateProjectRequest(
        prompt="x",
        audio=ref(key="uploads/p/audio.wav"),
        character_images=[ref(key=f"uploads/p/character_{i}.png") for i in range(images)],
    )


def test_character_images_up_to_the_contract_limit() -> None:
    spec = v.project_spec(_create(contract.MAX_CHARACTER_IMAGES), 100)
    assert len(spec.character_images) == contract.MAX_CHARACTER_IMAGES
    with pytest.raises(InvalidInput, match=f"the limit is {contract.MAX_CHARACTER_IMAGES}"):
        v.project_spec(_create(contract.MAX_CHARACTER_IMAGES + 1), 100)


def test_prompt_checks() -> None:
    assert v.check_prompt("  neon  ", 10) == "neon"
    with pytest.raises(InvalidInput, match="empty"):
        v.check_prompt(" \n", 10)
    with pytest.raises(InvalidInput, match="limit is 10"):
        v.check_prompt("x" * 11, 10)


@pytest.mark.parametrize(
    ("w", "h", "fps", "expected"),
    [
        (1280, 720, 30, (480, 270, 12)),
        (1920, 1080, 24, (480, 270, 12)),
        (320, 180, 12, (320, 180, 12)),  # already small: kept
        (1080, 1920, 30, (480, 854, 12)),  # portrait keeps its aspect, even sides
        (640, 480, 10, (480, 360, 10)),  # never raises the frame rate
    ],
)
def test_preview_settings(w: int, h: int, fps: int, expected: tuple[int, int, int]) -> None:
    s = preview_settings(orchestrator_pb2.ProjectOptions(width=w, height=h, fps=fps), 480, 12)
    assert (s.width, s.height, s.fps) == expected
    assert s.quality == common_pb2.QUALITY_PREVIEW
    assert s.width % 2 == 0 and s.height % 2 == 0


def test_shot_backend_must_be_known_and_offered() -> None:
    def req(name: str) -> orchestrator_pb2.CreateProjectRequest:
        return orchestrator_pb2.CreateProjectRequest(
            prompt="p",
            audio=common_pb2.ArtifactRef(key="uploads/p/audio.wav"),
            options=orchestrator_pb2.ProjectOptions(shot_backend=name),
        )

    offered = ["comfyui", "procedural"]
    assert v.project_spec(req("comfyui"), 100, offered).options.shot_backend == "comfyui"
    assert v.project_spec(req(""), 100, offered).options.shot_backend == ""
    with pytest.raises(InvalidInput, match="'openai' is not offered by this deployment"):
        v.project_spec(req("openai"), 100, offered)
    with pytest.raises(InvalidInput, match="unknown shot_backend 'pika'"):
        v.project_spec(req("pika"), 100, None)
