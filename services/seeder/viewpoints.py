"""Viewpoints: the compositions each scene family can show, by simple lowercase names.

The storyboard's `Shot.viewpoint` names one of these ("skyline", "street", "rooftop", ...).
Which family has which viewpoints is the shared table (services/common/scene_vocabulary.py) the
director plans from; here is how each is drawn. `ABSTRACT_VIEWPOINTS` work with every family.
An unknown or empty name is resolved from the shot's framing and seed, so a plan written for
another engine (or by a chat model) still renders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.common import scene_vocabulary
from services.seeder import abstract, views_city, views_nature
from services.seeder import motifs as m
from services.seeder.motifs import Ctx, Layers
from services.seeder.palette import stable_hash


@dataclass(frozen=True)
class View:
    name: str
    draw: Callable[[Ctx], Layers]
    horizon: float | None = None  # overrides the role's horizon (fraction of height)
    ground: float = 0.93  # where a standing subject's feet are in a wide shot
    detail: bool = False  # an insert: one object fills the frame (no extra zoom)
    frame: str = ""  # "window" | "porthole": seen through it
    reflect: bool = False  # the family's water reflection applies
    floating: bool = False  # the subject floats (space, underwater) rather than stands


V = View
# How the seeder draws each viewpoint of the shared table (services/common/scene_vocabulary.py);
# the table decides which family has which, in which order.
DRAWN: dict[str, View] = {
    v.name: v
    for v in (
        # city
        V("skyline", m.city, ground=0.95, reflect=True),
        V("street", views_city.street, horizon=0.55, ground=0.9),
        V("rooftop", views_city.rooftop, horizon=0.6, ground=0.86),
        V("window", m.city, horizon=0.62, ground=0.97, frame="window"),
        V("sign", views_city.sign, detail=True, ground=0.99),
        # space
        V("nebula", m.space, floating=True),
        V("planet", views_nature.planet, floating=True),
        V("warp", views_nature.warp, floating=True),
        V("station", m.space, floating=True, frame="porthole"),
        # water
        V("horizon", m.water, ground=0.93),
        V("shore", views_nature.shore, horizon=0.45, ground=0.88),
        V("pier", views_nature.pier, horizon=0.5, ground=0.9),
        V("glints", views_nature.glints, detail=True),
        # forest
        V("treeline", m.forest, reflect=True, ground=0.92),
        V("path", views_nature.path, horizon=0.5, ground=0.9),
        V("canopy", views_nature.canopy, floating=True),
        V("leaves", views_nature.leaves, detail=True),
        # fire
        V("flames", m.fire, ground=0.97),
        V("campfire", views_nature.campfire, horizon=0.62, ground=0.9),
        V("embers", views_nature.embers, detail=True),
        # aurora
        V("lake", m.aurora, ground=0.95),
        V("zenith", views_nature.zenith, floating=True),
        V("snowfield", views_nature.snowfield, horizon=0.62, ground=0.88),
        # geometric
        V("mandala", m.geometric, floating=True),
        V("tunnel", views_nature.tunnel, floating=True),
        V("grid", views_nature.grid, horizon=0.5, ground=0.9),
        # desert
        V("dunes", m.desert, reflect=True, ground=0.95),
        V("road", views_nature.road, horizon=0.55, ground=0.93),
        V("canyon", views_nature.canyon, horizon=0.6, ground=0.92),
        # underwater
        V("kelp", m.underwater, floating=True),
        V("surface", views_nature.surface, floating=True),
        V("abyss", views_nature.abyss, floating=True),
        V("porthole", m.underwater, floating=True, frame="porthole"),
        # abstract: with every family
        V("streaks", abstract.streaks, floating=True),
        V("particles", abstract.particles, floating=True),
        V("shapes", abstract.shapes, floating=True),
        V("rings", abstract.rings, floating=True),
    )
}


def _drawn(names: Iterable[str]) -> tuple[View, ...]:
    names = list(names)
    missing = [n for n in names if n not in DRAWN]
    if missing:  # the shared table names a viewpoint nobody taught the seeder to draw
        raise RuntimeError(f"scene_vocabulary names viewpoints the seeder cannot draw: {missing}")
    return tuple(DRAWN[n] for n in names)


VIEWS: dict[str, tuple[View, ...]] = {
    fam: _drawn(v.name for v in vps) for fam, vps in scene_vocabulary.VIEWPOINTS.items()
}
ABSTRACT: tuple[View, ...] = _drawn(v.name for v in scene_vocabulary.ABSTRACT_VIEWPOINTS)

# The names, for planners: family -> viewpoints (scene and detail), and the abstract ones.
VIEWPOINTS: dict[str, tuple[str, ...]] = {f: tuple(v.name for v in vs) for f, vs in VIEWS.items()}
ABSTRACT_VIEWPOINTS: tuple[str, ...] = tuple(v.name for v in ABSTRACT)
DETAIL_VIEWPOINTS: dict[str, tuple[str, ...]] = {
    f: tuple(v.name for v in vs if v.detail) for f, vs in VIEWS.items()
}


def resolve_view(family: str, framing: str, name: str, seed: int) -> View:
    """The view a shot asks for: its own family's first, then any family's, else by framing."""
    views = VIEWS.get(family, VIEWS["geometric"])
    name = name.strip().lower()
    if name:
        for v in (*views, *ABSTRACT):
            if v.name == name:
                return v
        for vs in VIEWS.values():
            for v in vs:
                if v.name == name:
                    return v
    pick = stable_hash("view", family, framing, name, seed)
    if framing == "abstract":
        return ABSTRACT[pick % len(ABSTRACT)]
    details = [v for v in views if v.detail]
    if framing == "detail" and details:
        return details[pick % len(details)]
    scenes = [v for v in views if not v.detail]
    return scenes[pick % len(scenes)]
