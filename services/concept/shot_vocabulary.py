"""The director's vocabulary as data: figures, scene families, viewpoints, framing/move/look words.

Pure lookups, no music here (that is `shot_pacing` and `shot_design`):

- `detect_subject(prompt, has_characters)`: the figure the prompt names ("dancer"), or
  "characters" when character images are given, or "" (no subject);
- `scene_family(prompt)`: the procedural scene family the prompt asks for, "geometric" when the
  prompt names none;
- `VIEWPOINTS`: per scene family, the viewpoints a shot can take (the family's own and the
  abstract ones every family shares), each with the framings it serves and the words it adds to
  a prompt.

Families, their words, viewpoints and figure words are the one shared table
(services/common/scene_vocabulary.py) the seeder draws from; here they become lookups.
- phrases for framings, camera moves and looks, used to write each shot's prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lumiere.v1 import storyboard_pb2 as sb

from services.common import scene_vocabulary
from services.common.scene_vocabulary import (
    DEFAULT_FAMILY,
    FAMILIES,
    FAMILY_WORDS,
    FIGURE_PLURALS,
    FIGURE_WORDS,
    LOOKS,
)

WIDE = sb.FRAMING_WIDE
MEDIUM = sb.FRAMING_MEDIUM
CLOSE_UP = sb.FRAMING_CLOSE_UP
DETAIL = sb.FRAMING_DETAIL
SUBJECT = sb.FRAMING_SUBJECT
ABSTRACT = sb.FRAMING_ABSTRACT
FRAMINGS = (WIDE, MEDIUM, CLOSE_UP, DETAIL, SUBJECT, ABSTRACT)

# --------------------------------------------------------------------------- subject


# Figures a prompt may name (singular forms; plurals and a few irregular ones are forgiven).
FIGURES = frozenset(FIGURE_WORDS)
_IRREGULAR = FIGURE_PLURALS
_WORD = re.compile(r"[a-z0-9']+")
CHARACTERS = "characters"


def _singular(word: str) -> str | None:
    if word in FIGURES:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    for suffix in ("es", "s"):
        if word.endswith(suffix) and word[: -len(suffix)] in FIGURES:
            return word[: -len(suffix)]
    return None


def detect_subject(prompt: str, has_characters: bool = False) -> str:
    """The subject of the video: "characters" when character images are given (they are what
    the seeder composes), else the first figure the prompt names, as written ("dancers"),
    else "" (no subject on screen)."""
    if has_characters:
        return CHARACTERS
    for word in _WORD.findall(prompt.lower()):
        if _singular(word) is not None:
            return word
    return ""


def subject_phrase(subject: str) -> str:
    """How prompts name the subject: "the dancer", "the characters"."""
    return f"the {subject}" if subject else ""


# --------------------------------------------------------------------------- scene family

_PHRASES = sorted((p for p in FAMILY_WORDS if " " in p), key=lambda p: (-len(p.split()), -len(p)))


def _weights(entry: str) -> list[tuple[str, float]]:
    out = []
    for item in entry.split():
        name, _, weight = item.partition(":")
        out.append((name, float(weight)))
    return out


def _family_word(word: str) -> str | None:
    if word in FAMILY_WORDS:
        return word
    for suffix in ("es", "s", "y"):  # the seeder forgives the same suffixes (scene_vocabulary)
        if word.endswith(suffix) and word[: -len(suffix)] in FAMILY_WORDS:
            return word[: -len(suffix)]
    return None


def family_weights(prompt: str) -> dict[str, float]:
    """Summed family weights of the words and phrases the prompt names (phrases first)."""
    tokens = _WORD.findall(prompt.lower())
    used = [False] * len(tokens)
    found: list[str] = []
    for phrase in _PHRASES:
        parts = phrase.split()
        n = len(parts)
        for i in range(len(tokens) - n + 1):
            if not any(used[i : i + n]) and tokens[i : i + n] == parts:
                found.append(phrase)
                used[i : i + n] = [True] * n
    for i, tok in enumerate(tokens):
        if not used[i] and (hit := _family_word(tok)) is not None:
            found.append(hit)
    weights: dict[str, float] = {}
    for term in found:
        for fam, w in _weights(FAMILY_WORDS[term]):
            weights[fam] = weights.get(fam, 0.0) + w
    return weights


def scene_family(prompt: str) -> str:
    """The family the prompt weighs most (ties: FAMILIES order), DEFAULT_FAMILY if none."""
    weights = family_weights(prompt)
    if not weights:
        return DEFAULT_FAMILY
    return min(weights, key=lambda f: (-weights[f], FAMILIES.index(f)))


# --------------------------------------------------------------------------- viewpoints


@dataclass(frozen=True)
class Viewpoint:
    name: str
    phrase: str  # words for the prompt
    framings: frozenset[int]  # storyboard_pb2.Framing values this viewpoint serves


_FRAMING_BY_NAME = {sb.Framing.Name(f).removeprefix("FRAMING_").lower(): f for f in FRAMINGS}


def _viewpoint(v: scene_vocabulary.Viewpoint) -> Viewpoint:
    return Viewpoint(v.name, v.phrase, frozenset(_FRAMING_BY_NAME[n] for n in v.framings))


# Per family, several places and compositions so 40-80 shots from one prompt differ, plus the
# abstract effect shots every family shares; each family serves every framing.
VIEWPOINTS: dict[str, tuple[Viewpoint, ...]] = {
    fam: tuple(_viewpoint(v) for v in (*vps, *scene_vocabulary.ABSTRACT_VIEWPOINTS))
    for fam, vps in scene_vocabulary.VIEWPOINTS.items()
}


def viewpoints_for(family: str, framing: int) -> tuple[Viewpoint, ...]:
    """The family's viewpoints that serve `framing` (the default family's when unknown)."""
    table = VIEWPOINTS.get(family, VIEWPOINTS[DEFAULT_FAMILY])
    return tuple(v for v in table if framing in v.framings)


def viewpoint_table() -> dict[str, dict[str, list[str]]]:
    """The table as plain data (family -> viewpoint -> framing names), for reports and docs."""
    return {
        fam: {
            v.name: [
                sb.Framing.Name(f).removeprefix("FRAMING_").lower() for f in sorted(v.framings)
            ]
            for v in vps
        }
        for fam, vps in VIEWPOINTS.items()
    }


# --------------------------------------------------------------------------- prompt words

FRAMING_PHRASE = {
    WIDE: "wide establishing shot",
    MEDIUM: "medium shot",
    CLOSE_UP: "close-up",
    DETAIL: "detail insert shot",
    SUBJECT: "full figure shot",
    ABSTRACT: "abstract shot of light and motion",
}
# How the subject appears in each framing ("{s}" = "the dancer").
SUBJECT_IN_FRAMING = {
    WIDE: "{s} small in the frame",
    MEDIUM: "{s} in the frame",
    CLOSE_UP: "close on {s}",
    DETAIL: "a detail of {s}",
    SUBJECT: "{s} at the centre, moving with the music",
    ABSTRACT: "the silhouette of {s}",
}
MOVE_PHRASE = {
    sb.CAMERA_MOVE_PUSH_IN: "slow push-in",
    sb.CAMERA_MOVE_PULL_OUT: "pulling out",
    sb.CAMERA_MOVE_PAN: "slow pan",
    sb.CAMERA_MOVE_TRUCK: "tracking sideways",
    sb.CAMERA_MOVE_ORBIT: "orbiting camera",
    sb.CAMERA_MOVE_CRANE: "crane move",
    sb.CAMERA_MOVE_HANDHELD: "handheld camera",
    sb.CAMERA_MOVE_LOCKED: "locked-off camera with beat punches",
}
# Looks: palette/lighting variants within the video's one palette (Shot.look indexes
# scene_vocabulary.LOOKS); the phrase tells text-to-image backends.
LOOK_PHRASES = tuple(look.phrase for look in LOOKS)
LOOK_COUNT = len(LOOKS)
VIVID_LOOKS = tuple(i for i, look in enumerate(LOOKS) if look.vivid)
MUTED_LOOKS = tuple(i for i, look in enumerate(LOOKS) if not look.vivid)
