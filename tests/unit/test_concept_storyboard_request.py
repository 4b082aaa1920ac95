"""The concept request's seed and character flag reach the storyboard (no server)."""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf import json_format
from lumiere.v1 import concept_pb2

from services.common.settings import Settings
from services.common.storage import LocalStore
from services.concept.servicer import run_analysis
from tests.support.songs import write_short_song


def _analyse(
    store: LocalStore, settings: Settings, tmp_path: Path, **fields: object
) -> tuple[concept_pb2.Concept, dict]:
    write_short_song(tmp_path / "song.wav", seed=4)
    audio = store.put_file("uploads/p1/audio.wav", tmp_path / "song.wav", "audio/wav")
    request = concept_pb2.AnalyzeAudioRequest(
        project_id="p1", audio=audio, prompt="forest mist, a singer", **fields
    )
    result = run_analysis(request, settings, store, lambda done, total, message: None)
    return result.concept, json.loads(store.get_bytes(result.concept_json.key))


def test_storyboard_is_in_the_stored_concept(
    store: LocalStore, settings: Settings, tmp_path: Path
) -> None:
    concept, stored = _analyse(store, settings, tmp_path)
    assert concept.storyboard.subject == "singer"
    assert concept.storyboard.scene_family == "forest"
    again = json_format.ParseDict(stored, concept_pb2.Concept())
    assert again.storyboard == concept.storyboard


def test_request_seed_and_characters_reach_the_plan(
    store: LocalStore, settings: Settings, tmp_path: Path
) -> None:
    plain, _ = _analyse(store, settings, tmp_path, seed=1)
    other, _ = _analyse(store, settings, tmp_path, seed=2, has_characters=True)
    assert other.storyboard.subject == "characters"
    assert [s.seed for s in plain.storyboard.shots] != [s.seed for s in other.storyboard.shots]
