"""The director's vocabulary: subject detection, scene families, viewpoint coverage (the table
itself is services/common/scene_vocabulary.py, shared with the seeder)."""

from __future__ import annotations

import re

import pytest
from lumiere.v1 import storyboard_pb2 as sb

from services.common.scene_vocabulary import ABSTRACT_VIEWPOINTS
from services.concept.shot_vocabulary import (
    FAMILIES,
    FRAMINGS,
    LOOK_COUNT,
    LOOK_PHRASES,
    VIEWPOINTS,
    detect_subject,
    scene_family,
    viewpoint_table,
    viewpoints_for,
)


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


@pytest.mark.parametrize(
    ("prompt", "family"),
    [
        ("neon city at night, rain, a lone dancer", "city"),
        ("ocean sunset", "water"),
        ("forest mist at dawn", "forest"),
        ("deep sea creatures", "underwater"),
        ("lava and ash", "fire"),
        ("northern lights over mountains", "aurora"),
        ("crystal caves", "geometric"),
        ("dunes under a full moon", "desert"),
        ("synthwave highway", "city"),
    ],
)
def test_scene_family_from_the_prompt_words(prompt: str, family: str) -> None:
    assert scene_family(prompt) == family


def test_prompt_without_scene_words_gets_the_default_family() -> None:
    assert scene_family("a lone dancer") == "geometric"


def test_every_family_has_viewpoints_for_every_framing() -> None:
    assert set(VIEWPOINTS) == set(FAMILIES)
    for family in FAMILIES:
        for framing in FRAMINGS:
            assert viewpoints_for(family, framing), (family, sb.Framing.Name(framing))
        assert len(VIEWPOINTS[family]) >= 5


def test_viewpoint_names_are_unique_identifiers() -> None:
    """A scene viewpoint belongs to one family; the abstract ones go with every family."""
    shared = set.intersection(*({v.name for v in vps} for vps in VIEWPOINTS.values()))
    assert {v.name for v in ABSTRACT_VIEWPOINTS} == shared
    names = [v.name for vps in VIEWPOINTS.values() for v in vps if v.name not in shared]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", n) for n in names + sorted(shared))
    table = viewpoint_table()
    assert table["city"]["skyline"] == ["wide"]


def test_looks_have_phrases() -> None:
    assert LOOK_COUNT == len(LOOK_PHRASES) >= 4
