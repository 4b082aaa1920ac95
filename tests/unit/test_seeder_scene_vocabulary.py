"""The seeder draws exactly the shared scene vocabulary (services/common/scene_vocabulary.py)."""

from __future__ import annotations

import pytest

from services.common import scene_vocabulary as table
from services.seeder.figures import KINDS, subject_in
from services.seeder.scene import choose_family
from services.seeder.viewpoints import ABSTRACT_VIEWPOINTS, DRAWN, VIEWPOINTS
from services.seeder.vocabulary import FAMILIES, VOCABULARY, interpret


def test_the_seeder_draws_every_viewpoint_of_the_table_and_no_other() -> None:
    assert {f: tuple(v.name for v in vs) for f, vs in table.VIEWPOINTS.items()} == VIEWPOINTS
    assert tuple(v.name for v in table.ABSTRACT_VIEWPOINTS) == ABSTRACT_VIEWPOINTS
    assert set(DRAWN) == {n for ns in VIEWPOINTS.values() for n in ns} | set(ABSTRACT_VIEWPOINTS)


def test_every_framing_of_the_table_is_known() -> None:
    for vps in (*table.VIEWPOINTS.values(), table.ABSTRACT_VIEWPOINTS):
        for v in vps:
            assert set(v.framings) <= set(table.FRAMING_NAMES), v


def test_family_words_select_the_tables_families() -> None:
    assert FAMILIES == table.FAMILIES
    for phrase, entry in table.FAMILY_WORDS.items():
        expected = {f: float(w) for f, w in (item.split(":") for item in entry.split())}
        assert dict(VOCABULARY[phrase].motifs) == expected, phrase


@pytest.mark.parametrize(
    ("prompt", "family"),
    [("neon city at night, rain", "city"), ("deep sea", "underwater"), ("moon", "space")],
)
def test_prompt_families_come_from_the_table(prompt: str, family: str) -> None:
    assert choose_family(interpret(prompt)) == family


def test_figure_words_name_kinds_the_seeder_draws() -> None:
    assert KINDS == table.FIGURE_KINDS
    assert set(table.FIGURE_WORDS.values()) <= set(KINDS) | {""}
    assert set(table.FIGURE_HINTS.values()) <= set(KINDS)
    assert subject_in("three guitarists on stage") == "band"
    assert subject_in("children running") == "child"
