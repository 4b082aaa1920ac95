"""The director's vocabulary as data: figures, scene families, viewpoints, framing/move/look words.

Pure lookups, no music here (that is `shot_pacing` and `shot_design`):

- `detect_subject(prompt, has_characters)`: the figure the prompt names ("dancer"), or
  "characters" when character images are given, or "" (no subject);
- `scene_family(prompt)`: the procedural scene family the prompt asks for, with the seeder's
  family names and weights (services/seeder/vocabulary.py; a unit test pins the agreement until
  the table moves to one shared place), "geometric" when the prompt names none;
- `VIEWPOINTS`: per scene family, the viewpoints a shot can take, each with the framings it
  serves and the words it adds to a prompt. The names are the contract with the seeder's drawing
  of viewpoints: unique across families, lowercase, `_` between words;
- phrases for framings, camera moves and looks, used to write each shot's prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lumiere.v1 import storyboard_pb2 as sb

WIDE = sb.FRAMING_WIDE
MEDIUM = sb.FRAMING_MEDIUM
CLOSE_UP = sb.FRAMING_CLOSE_UP
DETAIL = sb.FRAMING_DETAIL
SUBJECT = sb.FRAMING_SUBJECT
ABSTRACT = sb.FRAMING_ABSTRACT
FRAMINGS = (WIDE, MEDIUM, CLOSE_UP, DETAIL, SUBJECT, ABSTRACT)

# --------------------------------------------------------------------------- subject


# Figures a prompt may name (singular forms; plurals and a few irregular ones are forgiven).
# The seeder has no figure list yet; when it gets one, both should read one shared table.
def _word_set(*lines: str) -> frozenset[str]:
    return frozenset(w for line in lines for w in line.split())


FIGURES = _word_set(
    # people
    "dancer singer woman man girl boy child kid baby teenager lady gentleman person figure",
    "stranger couple lovers friends crowd people",
    # musicians
    "band musician guitarist bassist drummer pianist violinist cellist rapper dj vocalist",
    "performer",
    # characters
    "robot android cyborg astronaut alien ghost angel witch wizard knight warrior samurai ninja",
    "soldier pilot diver princess prince queen king cowboy skater surfer runner cyclist biker",
    "rider wanderer traveler traveller hero heroine mermaid puppet clown",
    # animals
    "cat dog fox wolf horse dragon bird owl deer",
)
_IRREGULAR = {"women": "woman", "men": "man", "children": "child", "kids": "kid"}
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

# The seeder's families, in its tie-break order (services/seeder/vocabulary.py: FAMILIES).
FAMILIES = (
    "space",
    "water",
    "city",
    "forest",
    "fire",
    "aurora",
    "geometric",
    "desert",
    "underwater",
)
DEFAULT_FAMILY = "geometric"

# Prompt words and phrases -> family weights: the motif part of the seeder's vocabulary.
FAMILY_WORDS: dict[str, str] = {
    "neon city at night": "city:2",
    "ocean sunset": "water:2",
    "forest mist": "forest:2",
    "space nebula": "space:2",
    "northern lights": "aurora:2",
    "city lights": "city:1.5",
    "deep sea": "underwater:2",
    "under water": "underwater:2",
    "golden hour": "desert:0.4",
    "outer space": "space:2",
    "cherry blossom": "forest:1.2",
    "city": "city:1",
    "skyline": "city:1",
    "street": "city:0.8",
    "cyberpunk": "city:1.2",
    "neon": "city:0.6",
    "ocean": "water:1",
    "sea": "water:1",
    "wave": "water:1",
    "beach": "water:0.8",
    "lake": "water:0.8",
    "river": "water:0.7",
    "harbor": "water:0.8 city:0.5",
    "reflection": "water:0.6",
    "underwater": "underwater:2",
    "coral": "underwater:1.2",
    "reef": "underwater:1.2",
    "fish": "underwater:0.8",
    "bubble": "underwater:0.6",
    "kelp": "underwater:1",
    "forest": "forest:1",
    "tree": "forest:0.8",
    "jungle": "forest:1.2",
    "woods": "forest:1",
    "garden": "forest:0.7",
    "fire": "fire:1.5",
    "flame": "fire:1.4",
    "inferno": "fire:2",
    "ember": "fire:0.6",
    "lava": "fire:1.2 desert:0.3",
    "nebula": "space:1.5",
    "space": "space:1.2",
    "galaxy": "space:1.4",
    "star": "space:0.6",
    "cosmic": "space:1",
    "planet": "space:1",
    "moon": "space:0.5 water:0.2",
    "desert": "desert:1.5",
    "dune": "desert:1.2",
    "sand": "desert:0.8",
    "canyon": "desert:1",
    "mountain": "aurora:0.7",
    "aurora": "aurora:1.5",
    "sky": "aurora:0.4",
    "cloud": "aurora:0.3 water:0.2",
    "sunset": "water:0.4 desert:0.4",
    "sunrise": "water:0.3 desert:0.3",
    "snow": "aurora:0.4",
    "winter": "aurora:0.4",
    "ice": "geometric:0.4",
    "frozen": "aurora:0.3",
    "chrome": "geometric:0.7",
    "crystal": "geometric:1",
    "glass": "geometric:0.8",
    "marble": "geometric:0.6",
    "geometric": "geometric:1.5",
    "abstract": "geometric:1.2",
    "shape": "geometric:1",
    "kaleidoscope": "geometric:1.5",
    "fractal": "geometric:1.3",
    "angry": "fire:0.5",
    "ethereal": "aurora:0.4",
    "psychedelic": "geometric:1",
    "sakura": "forest:1",
    "autumn": "forest:0.8",
    "fall": "forest:0.6",
    "spring": "forest:0.6",
    "summer": "water:0.4",
    "80s": "city:0.6 geometric:0.4",
    "synthwave": "city:1.2",
    "vaporwave": "geometric:1",
    "noir": "city:0.6",
    "futuristic": "city:0.6 geometric:0.6",
    "medieval": "forest:0.6",
    "ancient": "desert:0.6",
    "tropical": "water:0.7 forest:0.7",
}
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
    for suffix in ("es", "s", "y"):  # the seeder forgives the same suffixes
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
    """The family the prompt weighs most (ties: the seeder's order), DEFAULT_FAMILY if none."""
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


def _vp(name: str, phrase: str, *framings: int) -> Viewpoint:
    return Viewpoint(name, phrase, frozenset(framings))


# Per family, several places and compositions so 40-80 shots from one prompt differ; each
# family serves every framing. SUBJECT lists the places a figure can stand in.
VIEWPOINTS: dict[str, tuple[Viewpoint, ...]] = {
    "city": (
        _vp("skyline", "the city skyline from afar", WIDE),
        _vp("street", "at street level, wet asphalt and shop lights", WIDE, MEDIUM, SUBJECT),
        _vp("rooftop", "on a rooftop above the city", WIDE, MEDIUM, SUBJECT),
        _vp("alley", "in a narrow alley", MEDIUM, CLOSE_UP, SUBJECT),
        _vp("window", "seen through a rain-streaked window", MEDIUM, CLOSE_UP),
        _vp("sign", "a glowing sign close up", CLOSE_UP, DETAIL),
        _vp("puddle", "city lights reflected in a puddle", DETAIL),
        _vp("traffic", "streaks of traffic light", ABSTRACT, WIDE),
    ),
    "forest": (
        _vp("canopy", "looking up into the forest canopy", WIDE),
        _vp("path", "on a path between the trees", WIDE, MEDIUM, SUBJECT),
        _vp("clearing", "in a forest clearing", WIDE, SUBJECT),
        _vp("trunks", "among rows of tree trunks", MEDIUM, CLOSE_UP, SUBJECT),
        _vp("stream", "by a forest stream", MEDIUM, DETAIL),
        _vp("leaves", "leaves close up", CLOSE_UP, DETAIL),
        _vp("sunbeams", "light shafts through the trees", ABSTRACT),
    ),
    "water": (
        _vp("horizon", "the sea out to the horizon", WIDE),
        _vp("shore", "on the shoreline", WIDE, MEDIUM, SUBJECT),
        _vp("pier", "on a wooden pier", MEDIUM, SUBJECT),
        _vp("waves", "breaking waves up close", MEDIUM, CLOSE_UP),
        _vp("ripples", "ripples on the water surface", CLOSE_UP, DETAIL),
        _vp("glitter", "light glittering on the water", ABSTRACT),
    ),
    "space": (
        _vp("starfield", "a deep field of stars", WIDE),
        _vp("planet", "a planet looming close", WIDE, MEDIUM),
        _vp("moon_surface", "on the surface of a moon", WIDE, MEDIUM, SUBJECT),
        _vp("station", "inside a space station by the window", MEDIUM, CLOSE_UP, SUBJECT),
        _vp("nebula_close", "nebula clouds close up", CLOSE_UP, DETAIL),
        _vp("comet", "a comet streak", DETAIL),
        _vp("warp", "streaking starlight", ABSTRACT),
    ),
    "fire": (
        _vp("bonfire", "a great bonfire in the dark", WIDE, MEDIUM, SUBJECT),
        _vp("silhouette", "silhouettes against the flames", MEDIUM, SUBJECT),
        _vp("flames", "flames up close", CLOSE_UP, MEDIUM),
        _vp("embers", "glowing embers", DETAIL, CLOSE_UP),
        _vp("smoke", "smoke and sparks rising", ABSTRACT, WIDE),
    ),
    "aurora": (
        _vp("peaks", "snowy mountain peaks under the sky", WIDE),
        _vp("valley", "in a valley below the mountains", WIDE, MEDIUM, SUBJECT),
        _vp("ridge", "on a mountain ridge", MEDIUM, SUBJECT),
        _vp("frozen_lake", "a frozen lake mirroring the sky", WIDE, MEDIUM),
        _vp("snowflakes", "snow crystals close up", CLOSE_UP, DETAIL),
        _vp("curtains", "curtains of light filling the sky", ABSTRACT),
    ),
    "geometric": (
        _vp("tunnel", "an endless geometric tunnel", WIDE, MEDIUM, SUBJECT),
        _vp("grid", "a glowing grid floor to the horizon", WIDE, SUBJECT),
        _vp("prism", "a turning prism", MEDIUM, CLOSE_UP),
        _vp("shards", "floating shards close up", DETAIL, CLOSE_UP),
        _vp("kaleidoscope", "kaleidoscope patterns", ABSTRACT),
    ),
    "desert": (
        _vp("dunes", "dunes to the horizon", WIDE),
        _vp("canyon", "in a canyon of red rock", WIDE, MEDIUM, SUBJECT),
        _vp("dune_crest", "on the crest of a dune", MEDIUM, SUBJECT),
        _vp("rocks", "wind-carved rocks", MEDIUM, CLOSE_UP),
        _vp("sand_ripples", "sand ripples close up", DETAIL, CLOSE_UP),
        _vp("heat_haze", "shimmering heat haze", ABSTRACT),
    ),
    "underwater": (
        _vp("open_water", "the open blue water", WIDE),
        _vp("reef", "over a coral reef", WIDE, MEDIUM, SUBJECT),
        _vp("kelp", "in a kelp forest", MEDIUM, SUBJECT),
        _vp("seabed", "on the sandy seabed", WIDE, MEDIUM),
        _vp("fish_school", "a school of fish up close", CLOSE_UP, DETAIL),
        _vp("bubbles", "rising bubbles", DETAIL),
        _vp("light_rays", "light rays from the surface", ABSTRACT),
    ),
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
# Looks: palette/lighting variants within the video's one palette. Index = Shot.look; a
# renderer maps the index to its own variant, the phrase tells text-to-image backends.
LOOK_PHRASES = (
    "key light in the palette's main colours",
    "cool light, deep shadows",
    "warm accent light",
    "backlit, high contrast",
    "soft haze, diffuse light",
    "saturated accent colours, strong glow",
)
LOOK_COUNT = len(LOOK_PHRASES)
