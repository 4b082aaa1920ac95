"""The scene vocabulary, one table for every service: scene families, the prompt words that select
them, the viewpoints each family can show, and the words that name a figure (the subject).

Data only (the lookups live with their users): the concept's director
(services/concept/shot_vocabulary.py) plans shots from it, the seeder
(services/seeder/viewpoints.py, vocabulary.py, figures.py) draws from it. The viewpoints are
exactly the ones the seeder draws (the seeder refuses to import if this table names one it
cannot draw, and a unit test pins that it draws nothing else).

- `FAMILIES`: the procedural scene families, in tie-break order (earlier wins a tie);
- `FAMILY_WORDS`: prompt words and phrases -> "family:weight ..." (a prompt's family is the one
  with the largest summed weight; phrases are matched before their words; plurals "s"/"es" and a
  trailing "y" are forgiven);
- `VIEWPOINTS`: per family, the places and compositions a shot can take, with the framings each
  serves and the words it adds to a shot's prompt. Names are lowercase letters, unique across
  families (a renderer may resolve a name without its family);
- `ABSTRACT_VIEWPOINTS`: effect shots (light, particles, shapes) that go with every family;
- `FIGURE_KINDS`, `FIGURE_WORDS`, `FIGURE_PLURALS`, `FIGURE_HINTS`: the figures the seeder draws
  and the words that name them;
- `LOOKS`: the palette/lighting variants a shot can take (Shot.look is an index into it).

Framings are named as in storyboard.proto's Framing without the prefix, lowercase: "wide",
"medium", "close_up", "detail", "subject", "abstract".
"""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------- scene families

FAMILIES: tuple[str, ...] = (
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
# What a prompt that names no family gets from a planner.
DEFAULT_FAMILY = "geometric"

# Prompt words and phrases -> family weights ("family:weight", space-separated).
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


# --------------------------------------------------------------------------- viewpoints

FRAMING_NAMES: tuple[str, ...] = ("wide", "medium", "close_up", "detail", "subject", "abstract")


@dataclass(frozen=True)
class Viewpoint:
    name: str
    phrase: str  # the words a shot's prompt gets for it
    framings: tuple[str, ...]  # the framings it serves (FRAMING_NAMES)


def _vp(name: str, phrase: str, framings: str) -> Viewpoint:
    return Viewpoint(name, phrase, tuple(framings.split()))


# Every family serves every framing (abstract through ABSTRACT_VIEWPOINTS); "subject" lists the
# places a figure can stand (or float) in.
VIEWPOINTS: dict[str, tuple[Viewpoint, ...]] = {
    "space": (
        _vp("nebula", "nebula clouds among the stars", "wide medium detail"),
        _vp("planet", "a giant planet looming close", "wide medium subject"),
        _vp("warp", "stars streaking past at light speed", "wide close_up subject"),
        _vp("station", "seen through the porthole of a space station", "medium close_up subject"),
    ),
    "water": (
        _vp("horizon", "the sea out to the horizon", "wide medium"),
        _vp("shore", "on the shoreline, waves breaking in foam", "wide medium subject"),
        _vp("pier", "on a wooden pier running out to sea", "wide medium subject close_up"),
        _vp("glints", "sun glints on rippling water close up", "close_up detail"),
    ),
    "city": (
        _vp("skyline", "the city skyline reflected in the water", "wide"),
        _vp(
            "street",
            "at street level, wet asphalt and shop lights",
            "wide medium subject close_up",
        ),
        _vp("rooftop", "on a rooftop above the city", "wide medium subject"),
        _vp("window", "seen through a rain-streaked window", "medium close_up"),
        _vp("sign", "a glowing neon sign close up", "close_up detail"),
    ),
    "forest": (
        _vp("treeline", "a treeline mirrored in still water", "wide medium"),
        _vp("path", "on a path between the trees", "wide medium subject close_up"),
        _vp("canopy", "looking up into the forest canopy", "wide medium close_up"),
        _vp("leaves", "leaves close up against soft light", "close_up detail"),
    ),
    "fire": (
        _vp("flames", "a wall of flames", "wide medium close_up"),
        _vp("campfire", "a campfire in the dark, sparks rising", "wide medium subject"),
        _vp("embers", "glowing embers close up", "close_up detail"),
    ),
    "aurora": (
        _vp("lake", "a lake mirroring the northern lights", "wide medium"),
        _vp("zenith", "looking straight up into the aurora", "wide close_up detail"),
        _vp("snowfield", "on a snowfield under the aurora", "wide medium subject close_up"),
    ),
    "geometric": (
        _vp("mandala", "a turning mandala of light", "medium close_up detail"),
        _vp("tunnel", "an endless neon tunnel", "wide medium subject"),
        _vp("grid", "a glowing grid floor to the horizon", "wide medium subject"),
    ),
    "desert": (
        _vp("dunes", "dunes to the horizon", "wide medium detail"),
        _vp("road", "an empty road through the desert", "wide medium subject"),
        _vp("canyon", "in a canyon of red rock", "wide medium subject close_up"),
    ),
    "underwater": (
        _vp("kelp", "in a kelp forest", "wide medium subject"),
        _vp("surface", "looking up at the light through the surface", "wide close_up detail"),
        _vp("abyss", "the deep, glowing jellyfish drifting", "medium close_up detail"),
        _vp("porthole", "seen through a submarine porthole", "medium close_up"),
    ),
}
ABSTRACT_VIEWPOINTS: tuple[Viewpoint, ...] = (
    _vp("streaks", "streaks of light", "abstract"),
    _vp("particles", "a swarm of glowing particles", "abstract"),
    _vp("shapes", "floating shapes of light", "abstract"),
    _vp("rings", "pulsing rings of light", "abstract"),
)

# --------------------------------------------------------------------------- figures

# The figures the seeder draws.
FIGURE_KINDS: tuple[str, ...] = (
    "dancer",
    "singer",
    "woman",
    "man",
    "child",
    "robot",
    "astronaut",
    "band",
)


def _words(kind: str, line: str) -> dict[str, str]:
    return dict.fromkeys(line.split(), kind)


# Words that name a subject (singular) -> the kind drawn for it ("" = none of its own: the
# renderer picks a person).
FIGURE_WORDS: dict[str, str] = {
    **_words("dancer", "dancer ballerina"),
    **_words("singer", "singer vocalist rapper diva performer"),
    **_words("woman", "woman girl lady heroine princess queen witch mermaid"),
    **_words("man", "man gentleman stranger hero prince king cowboy wizard knight"),
    **_words("child", "child boy kid baby teenager"),
    **_words("robot", "robot android cyborg"),
    **_words("astronaut", "astronaut cosmonaut spaceman pilot diver"),
    **_words("band", "band musician guitarist bassist drummer pianist violinist cellist dj"),
    **_words(
        "",
        "person figure couple lovers friends crowd people alien ghost angel warrior samurai "
        "ninja soldier skater surfer runner cyclist biker rider wanderer traveler traveller "
        "puppet clown",
    ),
    # animals: named as the subject, drawn as a person until the seeder has animal figures
    **_words("", "cat dog fox wolf horse dragon bird owl deer"),
}
# Irregular plurals (regular ones: a trailing "s" or "es" is forgiven).
FIGURE_PLURALS: dict[str, str] = {
    "women": "woman",
    "men": "man",
    "children": "child",
    "kids": "kid",
}
# Words that pick the kind to draw but do not name a subject on their own.
FIGURE_HINTS: dict[str, str] = {
    "dancing": "dancer",
    "singing": "singer",
    "she": "woman",
    "he": "man",
    "guy": "man",
    "machine": "robot",
}


# --------------------------------------------------------------------------- looks


@dataclass(frozen=True)
class LookWord:
    """A look: a palette/lighting variant within the video's one palette (Shot.look indexes
    LOOKS). `vivid` looks are full-colour neon and glow, for the loudest sections; the others
    are muted (haze, desaturated, daylight, dark) and set calm sections apart from them.
    `phrase` is what a text-to-image backend is told; the procedural seeder draws each name
    (services/seeder/looks.py, which refuses to import if one is missing)."""

    name: str
    phrase: str
    vivid: bool


# In contrast order within each kind: a video's groups take vivid looks from the front and muted
# ones from the front, so the first few differ most (measured in colour histograms by
# bench/director_video.py; haze, noir and day are far from every other look).
LOOKS: tuple[LookWord, ...] = (
    LookWord("base", "key light in the palette's main colours", True),
    LookWord("glow", "saturated accent colours, strong glow", True),
    LookWord("duotone", "duotone in the accent colour", True),
    LookWord("haze", "soft haze, diffuse light", False),
    LookWord("noir", "desaturated, almost monochrome, hard light", False),
    LookWord("day", "open daylight, lifted shadows", False),
    LookWord("deep", "cool light, deep shadows", False),
    LookWord("backlit", "backlit, high contrast, deep shadows", False),
)
