"""The director's vocabulary: subject detection, scene families as the seeder names them,
viewpoint coverage."""

from __future__ import annotations

import re

import pytest
from lumiere.v1 import storyboard_pb2 as sb

from services.concept.shot_vocabulary import (
    FAMILIES,
    FAMILY_WORDS,
    FRAMINGS,
    LOOK_COUNT,
    LOOK_PHRASES,
    VIEWPOINTS,
    detect_subject,
    scene_family,
    viewpoint_table,
    viewpoints_for,
)
from services.seeder import vocabulary as seeder_vocabulary
from services.seeder.scene import choose_family


@pytest.mark.parametrize(
    ("prompt", "subject"),
    [
        ("neon city at night, rain, a lone dancer", "dancer"),
        ("two dancers on a beach", "dancers"),
        ("a robot walking through the desert", "robot"),
        ("an astronaut drifting in space", "astronaut"),
        ("the band playing in a garage", "band"),
        ("women in the rain", "women"),
        ("a child and her dog", "child"),
        ("neon city at night, rain", ""),
        ("forest mist", ""),
        ("", ""),
    ],
)
def test_subject_named_in_the_prompt(prompt: str, subject: str) -> None:
    assert detect_subject(prompt) == subject


def test_character_images_are_the_subject() -> None:
    assert detect_subject("forest mist", has_characters=True) == "characters"
    assert detect_subject("a lone dancer", has_characters=True) == "characters"


def test_family_words_are_the_seeders() -> None:
    """Until one shared table exists, the director's copy must equal the seeder's."""
    seeder = {
        phrase: " ".join(f"{f}:{w:g}" for f, w in term.motifs)
        for phrase, term in seeder_vocabulary.VOCABULARY.items()
        if term.motifs
    }
    assert seeder == FAMILY_WORDS
    assert FAMILIES == seeder_vocabulary.FAMILIES


@pytest.mark.parametrize(
    "prompt",
    [
        "neon city at night, rain, a lone dancer",
        "ocean sunset",
        "forest mist at dawn",
        "deep sea creatures",
        "a harbor with boats",
        "lava and ash",
        "northern lights over mountains",
        "tropical beach, palm trees",
        "crystal caves",
        "dunes under a full moon",
        "synthwave highway",
    ],
)
def test_scene_family_matches_the_seeder(prompt: str) -> None:
    assert scene_family(prompt) == choose_family(seeder_vocabulary.interpret(prompt))


def test_prompt_without_scene_words_gets_the_default_family() -> None:
    assert scene_family("a lone dancer") == "geometric"


def test_every_family_has_viewpoints_for_every_framing() -> None:
    assert set(VIEWPOINTS) == set(FAMILIES)
    for family in FAMILIES:
        for framing in FRAMINGS:
            assert viewpoints_for(family, framing), (family, sb.Framing.Name(framing))
        assert len(VIEWPOINTS[family]) >= 5


def test_viewpoint_names_are_unique_identifiers() -> None:
    names = [v.name for vps in VIEWPOINTS.values() for v in vps]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", n) for n in names)
    table = viewpoint_table()
    assert table["city"]["skyline"] == ["wide"]


def test_looks_have_phrases() -> None:
    assert LOOK_COUNT == len(LOOK_PHRASES) >= 4
