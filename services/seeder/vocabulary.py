"""The visual vocabulary: prompt words and phrases -> colours, motif families, textures, mood.

Phrases are matched longest first on word boundaries (so "neon city at night" wins over "city"),
a trailing plural "s" is forgiven, and whatever is left unmatched still steers the style through
a hash of the words (see `palette.py`), so unknown prompts never fall back to one grey default.
The scene families a word selects are the shared table's (services/common/scene_vocabulary.py:
FAMILY_WORDS), so the director and the seeder read one prompt alike.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from services.common import scene_vocabulary
from services.common.scene_vocabulary import FAMILY_WORDS

# Motif families the procedural engine can draw (see motifs.py), from the shared table.
FAMILIES = scene_vocabulary.FAMILIES
# Textures layered on top of any family.
EFFECTS = ("rain", "fog", "snow", "embers", "bokeh", "sparkle", "dust", "lightning")


@dataclass(frozen=True)
class Term:
    colors: tuple[str, ...] = ()
    motifs: tuple[tuple[str, float], ...] = ()
    effects: tuple[str, ...] = ()
    warmth: float = 0.0  # -1 cool .. +1 warm
    energy: float = 0.0  # -1 calm .. +1 intense
    light: float = 0.0  # -1 dark .. +1 bright
    grade: str = ""  # "" | "faded" | "noir" | "vivid" | "pastel"


def _t(
    colors: str = "",
    effects: str = "",
    warmth: float = 0.0,
    energy: float = 0.0,
    light: float = 0.0,
    grade: str = "",
) -> Term:
    """Compact constructor: colours and effects space-separated (motifs come from the shared
    scene vocabulary, see `_with_families`)."""
    return Term(
        colors=tuple(colors.split()),
        effects=tuple(effects.split()),
        warmth=warmth,
        energy=energy,
        light=light,
        grade=grade,
    )


def _with_families(terms: dict[str, Term]) -> dict[str, Term]:
    """Add every shared family word's motif weights (a family word without colours of its own
    becomes a term with only motifs)."""
    out = dict(terms)
    for phrase, entry in FAMILY_WORDS.items():
        motifs = []
        for item in entry.split():
            name, _, weight = item.partition(":")
            motifs.append((name, float(weight or 1.0)))
        out[phrase] = dataclasses.replace(out.get(phrase, Term()), motifs=tuple(motifs))
    return out


VOCABULARY: dict[str, Term] = {
    # --- scenes and places (phrases first) ---
    "neon city at night": _t("#ff2bd6 #00e5ff #1a0b3d #7a2cff", "bokeh", -0.2, 0.3, -0.5),
    "ocean sunset": _t("#ff7a3d #ff4f8b #5b2a86 #ffd27a", "sparkle", 0.8, 0, 0.2),
    "forest mist": _t("#2f5d50 #9cc5b0 #dfe9e1 #1b2e2a", "fog", -0.1, -0.4, 0.1),
    "space nebula": _t("#7a2cff #ff3d9a #0b0630 #38d9ff", "sparkle", -0.1, 0.2, -0.4),
    "northern lights": _t("#3dffa8 #1fb5ff #0a1433 #b06bff", "snow", -0.6, 0, -0.3),
    "city lights": _t("#ffb347 #ff4f8b #14143a", "bokeh", 0.3, 0.1, -0.3),
    "deep sea": _t("#03253f #0a6f8f #38e0d0", "", -0.7, -0.2, -0.5),
    "under water": _t("#0a6f8f #38e0d0 #03253f", "", -0.7, -0.2, -0.3),
    "golden hour": _t("#ffb347 #ffd27a #c0552f", "dust", 0.9, 0, 0.4),
    "outer space": _t("#0b0630 #3b2c8f #b8c4ff", "sparkle", -0.5, 0, -0.6),
    "city": _t(""),
    "skyline": _t(""),
    "street": _t("#ffb347", "bokeh", 0.2),
    "cyberpunk": _t("#ff2bd6 #00e5ff #120824", "rain bokeh", -0.2, 0.5, -0.4, "vivid"),
    "neon": _t("#ff2bd6 #00e5ff", "bokeh", 0, 0.3, -0.2, "vivid"),
    "ocean": _t("#0a4f8f #2fa7c9 #e8f6ff", "", -0.4),
    "sea": _t("#0a4f8f #2fa7c9", "", -0.4),
    "wave": _t("#1773b8 #bff0ff", "sparkle", -0.4, 0.2),
    "beach": _t("#ffd9a0 #2fc4d9", "sparkle", 0.4, -0.1, 0.4),
    "lake": _t("#3a6f8f #cfe6ef", "fog", -0.3, -0.3),
    "river": _t("#3a7f8f", "", -0.2, -0.1),
    "harbor": _t("#1f4f7f #ffb347", "bokeh", -0.1),
    "reflection": _t(""),
    "underwater": _t("#0a6f8f #38e0d0 #03253f", "", -0.7, -0.2, -0.3),
    "coral": _t("#ff6f61 #0a6f8f #ffd1a8", "", 0.3, 0.1, 0.1),
    "reef": _t("#ff8f6b #14b8a6", "", 0.2),
    "fish": _t("#38e0d0"),
    "bubble": _t("#bff0ff", "", -0.3),
    "kelp": _t("#2f5d50 #38e0d0"),
    "forest": _t("#2f5d50 #1b2e2a #8fbf7a", "", -0.1, -0.2),
    "tree": _t("#2f5d50"),
    "jungle": _t("#0f6b3a #7bd389 #ffd166", "fog", 0.3, 0.2),
    "woods": _t("#2f4d3a #a8c69f"),
    "garden": _t("#7bd389 #ff9fb2 #fff1a8", "sparkle", 0.3, -0.2, 0.4, "pastel"),
    "mist": _t("#dfe9e1", "fog", -0.1, -0.4, 0.2),
    "fog": _t("#d5dde3", "fog", -0.2, -0.4, 0.1),
    "haze": _t("#e8d5c4", "fog dust", 0.2, -0.3, 0.2),
    "fire": _t("#ff5a1f #ffb347 #2a0a05 #ffe08a", "embers", 1.0, 0.7, 0),
    "flame": _t("#ff5a1f #ffb347 #2a0a05", "embers", 1.0, 0.6),
    "inferno": _t("#ff3b0f #8f1405 #ffcf5a", "embers", 1.0, 1.0),
    "ember": _t("#ff6a1f #3a0d05", "embers", 0.9, 0.3, -0.3),
    "spark": _t("#ffd27a", "embers sparkle", 0.6, 0.4),
    "lava": _t("#ff3b0f #1a0503 #ffb347", "embers", 1.0, 0.8, -0.2),
    "nebula": _t("#7a2cff #ff3d9a #0b0630", "sparkle", -0.1, 0.1, -0.4),
    "space": _t("#0b0630 #3b2c8f #b8c4ff", "sparkle", -0.5, 0, -0.6),
    "galaxy": _t("#2b1a6b #ff6ad5 #9ad0ff", "sparkle", -0.3, 0.2, -0.4),
    "star": _t("#fff4d6", "sparkle", 0, 0, -0.3),
    "cosmic": _t("#5b2a86 #38d9ff", "sparkle", -0.2, 0.3, -0.3),
    "planet": _t("#c07a4a #2b4a8f"),
    "moon": _t("#dfe6ff #1a2040", "", -0.5, -0.3, -0.4),
    "desert": _t("#e0a060 #c0552f #ffe0a8 #5a2a1a", "dust", 0.8, -0.1, 0.3),
    "dune": _t("#e0a060 #c0552f", "dust", 0.7),
    "sand": _t("#e8c48f", "dust", 0.6, 0, 0.3),
    "canyon": _t("#b4532a #ffb070 #3a1a10", "dust", 0.7),
    "mountain": _t("#4a5a7a #dfe6f0", "", -0.3),
    "aurora": _t("#3dffa8 #1fb5ff #0a1433 #b06bff", "", -0.6, 0, -0.3),
    "sky": _t("#6fb7ff #ffd9e8", "", 0, 0, 0.3),
    "cloud": _t("#f0f4ff #9fb2d9", "fog", -0.1, -0.3, 0.3),
    "sunset": _t("#ff7a3d #ff4f8b #5b2a86", "", 0.8, 0.1, 0.1),
    "sunrise": _t("#ffb38a #ffe3a3 #7a8fd9", "", 0.6, 0, 0.4),
    "dawn": _t("#ffb38a #c9a7ff #ffe3a3", "fog", 0.4, -0.3, 0.3),
    "dusk": _t("#5b2a86 #ff7a3d #1a1240", "", 0.2, -0.1, -0.2),
    "night": _t("#0a0f2a #2a3a7a", "", -0.4, -0.1, -0.7),
    "midnight": _t("#05081a #1f2a6b", "sparkle", -0.6, -0.1, -0.8),
    # --- weather ---
    "rain": _t("#6f8fa8", "rain fog", -0.5, 0, -0.3),
    "storm": _t("#2a3140 #8fa3c0", "rain lightning", -0.5, 0.6, -0.5),
    "thunderstorm": _t("#2a3140 #8fa3c0 #dfe6ff", "rain lightning", -0.5, 0.8, -0.5),
    "thunder": _t("#3a3f5a #dfe6ff", "lightning rain", -0.4, 0.8, -0.4),
    "lightning": _t("#dfe6ff #5a4fcf", "lightning", -0.3, 0.8, -0.2),
    "snow": _t("#f4f8ff #9fb8d9", "snow", -0.8, -0.3, 0.5),
    "winter": _t("#dfeaff #6f8fbf", "snow", -0.8, -0.3, 0.3),
    "ice": _t("#bff0ff #3a7fbf #f4fdff", "sparkle", -0.9, 0, 0.4),
    "frozen": _t("#bff0ff #3a7fbf", "snow sparkle", -0.9, -0.2, 0.3),
    "dust": _t("#c9a27a", "dust", 0.4, 0, 0),
    # --- materials ---
    "gold": _t("#ffd166 #b8860b #3a2a0a", "sparkle", 0.7, 0.2, 0.2),
    "golden": _t("#ffd166 #b8860b", "sparkle", 0.7, 0.1, 0.2),
    "silver": _t("#d9dde3 #7a8290", "sparkle", -0.3),
    "chrome": _t("#e6ecf2 #5a6370 #00e5ff", "sparkle", -0.3, 0.2),
    "crystal": _t("#bff0ff #c9a7ff #ffffff", "sparkle", -0.4, 0.1, 0.4),
    "glass": _t("#cfefff #8fb8ff", "sparkle", -0.3, 0, 0.3),
    "marble": _t("#f2efe9 #9a8f85", "", 0.1, -0.3, 0.4),
    "velvet": _t("#5a0f2e #9b1b4a", "", 0.4, -0.2, -0.3),
    "smoke": _t("#5a5a66 #a0a0b0", "fog", 0, -0.1, -0.2),
    # --- abstract / geometry ---
    "geometric": _t(""),
    "abstract": _t(""),
    "shape": _t(""),
    "kaleidoscope": _t("#ff2bd6 #ffd166 #00e5ff", "sparkle", 0, 0.6, 0.2, "vivid"),
    "fractal": _t("#7a2cff #00e5ff", "", 0, 0.4),
    # --- colours ---
    "red": _t("#e0202e #5a0a10"),
    "crimson": _t("#b0102a #3a0510"),
    "orange": _t("#ff7a1f #5a2a0a"),
    "yellow": _t("#ffd60a #6b5a0a"),
    "green": _t("#2fbf5a #0a3a1a"),
    "emerald": _t("#10a36b #043a26"),
    "teal": _t("#14b8a6 #053b36"),
    "cyan": _t("#00e5ff #043a4a"),
    "turquoise": _t("#30d5c8 #0a4a46"),
    "blue": _t("#1f6bff #0a1a4a"),
    "navy": _t("#0f1f5a #05081a"),
    "purple": _t("#7a2cff #1f0a4a"),
    "violet": _t("#8f5cff #2a0f5a"),
    "lavender": _t("#c9a7ff #5a4a8f", light=0.3, grade="pastel"),
    "pink": _t("#ff6ad5 #5a0f3a"),
    "magenta": _t("#ff2bd6 #4a0a3a"),
    "white": _t("#ffffff #bfc8d9", light=0.5),
    "black": _t("#05050a #2a2a33", light=-0.6),
    "pastel": _t("#ffd1dc #c9f0e6 #e6dcff", light=0.4, energy=-0.3, grade="pastel"),
    "monochrome": _t("#e6e6e6 #1a1a1a", grade="noir"),
    "rainbow": _t("#ff3b3b #ffd60a #2fbf5a #1f6bff #8f5cff", "sparkle", 0, 0.4, 0.3, "vivid"),
    # --- moods ---
    "dreamy": _t("#c9a7ff #ffd1dc", "fog bokeh", 0.1, -0.5, 0.3, "pastel"),
    "melancholy": _t("#4a5a7a #8fa3c0", "rain", -0.6, -0.5, -0.3, "faded"),
    "sad": _t("#4a5a7a", "rain", -0.6, -0.6, -0.3, "faded"),
    "lonely": _t("#3a4a6a", "fog", -0.5, -0.6, -0.3),
    "happy": _t("#ffd166 #ff8fab", "sparkle", 0.6, 0.3, 0.5, "vivid"),
    "joy": _t("#ffd166 #ff8fab", "sparkle", 0.6, 0.4, 0.5, "vivid"),
    "euphoric": _t("#ff2bd6 #ffd166", "sparkle bokeh", 0.4, 0.9, 0.4, "vivid"),
    "dark": _t("#0a0a12", "", -0.3, 0, -0.8),
    "angry": _t("#e0202e #1a0505", "embers", 0.8, 0.9, -0.3),
    "calm": _t("#9fc5d9", "", -0.2, -0.8, 0.2),
    "peaceful": _t("#bfe3d0 #fff1d6", "", 0.1, -0.8, 0.4),
    "romantic": _t("#ff6f91 #ffc3a0 #5a1a3a", "bokeh", 0.6, -0.2, 0.1),
    "epic": _t("#ffb347 #1a2a4a", "dust", 0.2, 0.8, 0),
    "mysterious": _t("#2a1a4a #3dffa8", "fog", -0.4, -0.2, -0.5),
    "nostalgic": _t("#e8b27a #8f6a5a", "dust", 0.5, -0.3, 0, "faded"),
    "ethereal": _t("#e6dcff #bff0ff", "fog sparkle", -0.1, -0.4, 0.4, "pastel"),
    "psychedelic": _t("#ff2bd6 #ffd60a #00e5ff #7a2cff", "", 0, 0.8, 0.2, "vivid"),
    # --- seasons ---
    "cherry blossom": _t("#ffb7c5 #ff6f91 #fff0f3 #5a3a4a", "sparkle", 0.3, -0.2, 0.4),
    "sakura": _t("#ffb7c5 #ff6f91 #fff0f3", "sparkle", 0.3, -0.2, 0.4),
    "autumn": _t("#e8752a #c0392b #ffc15e #3a1f14", "dust", 0.8, 0, 0.1),
    "fall": _t("#e8752a #c0392b #ffc15e", "dust", 0.8),
    "spring": _t("#9be564 #ffd1dc #fff6a8", "sparkle", 0.3, 0, 0.4, "pastel"),
    "summer": _t("#ffd166 #06d6a0 #118ab2", "sparkle", 0.6, 0.3, 0.5, "vivid"),
    # --- eras ---
    "retro": _t("#ff6f3c #ffc93c #155263", "", 0.5, 0, 0, "faded"),
    "80s": _t("#ff2bd6 #00e5ff #2a0a4a", "", 0, 0.4, -0.2, "vivid"),
    "synthwave": _t("#ff2bd6 #ff9f1c #2a0a4a #00e5ff", "", 0.2, 0.5, -0.3, "vivid"),
    "vaporwave": _t("#ff71ce #01cdfe #b967ff #fffb96", "", 0, 0.1, 0.2, "pastel"),
    "vintage": _t("#d9b48f #6b4f3a", "dust", 0.5, -0.2, 0, "faded"),
    "noir": _t("#e6e6e6 #0a0a0a", "rain fog", -0.3, 0, -0.5, "noir"),
    "futuristic": _t("#00e5ff #e6ecf2 #0a1a3a", "", -0.4, 0.4),
    "medieval": _t("#6b4f3a #c9a27a #2a3a2a", "fog", 0.3, -0.1, -0.2, "faded"),
    "ancient": _t("#c9a27a #6b4f3a", "dust", 0.5, -0.2, 0, "faded"),
    "tropical": _t("#00c9a7 #ffd166 #ff6f91", "sparkle", 0.6, 0.2, 0.4),
    # --- music-flavoured words the concept service may add ---
    "intense": _t("", "", 0, 0.7),
    "energetic": _t("", "sparkle", 0.1, 0.6, 0.1),
    "quiet": _t("", "", 0, -0.6, -0.1),
    "gentle": _t("", "", 0.1, -0.6, 0.2),
    "explosive": _t("#ffd166", "embers sparkle", 0.4, 1.0, 0.2),
}

VOCABULARY = _with_families(VOCABULARY)

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "and",
        "or",
        "with",
        "by",
        "for",
        "to",
        "from",
        "into",
        "over",
        "under",
        "like",
        "as",
        "is",
        "are",
        "be",
        "very",
        "this",
        "that",
        "its",
        "it",
        "my",
        "our",
        "your",
        "their",
        "some",
    ]
)
_WORD_RE = re.compile(r"[a-z0-9']+")
# Longest phrases first so "neon city at night" is taken before "city" or "night".
_PHRASES = sorted(VOCABULARY, key=lambda p: (-len(p.split()), -len(p)))


@dataclass
class Interpretation:
    """What the engine understood from one prompt."""

    terms: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    motifs: dict[str, float] = field(default_factory=dict)
    effects: list[str] = field(default_factory=list)
    warmth: float = 0.0
    energy: float = 0.0
    light: float = 0.0
    grade: str = ""

    def top_families(self, n: int = 2) -> list[str]:
        ranked = sorted(self.motifs.items(), key=lambda kv: (-kv[1], FAMILIES.index(kv[0])))
        return [name for name, _ in ranked[:n]]


def words(prompt: str) -> list[str]:
    return _WORD_RE.findall(prompt.lower())


def _lookup(word: str) -> str | None:
    if word in VOCABULARY:
        return word
    # Forgive plurals and simple suffixes: "waves" -> "wave", "flames" -> "flame".
    for suffix in ("es", "s", "y"):
        if word.endswith(suffix) and word[: -len(suffix)] in VOCABULARY:
            return word[: -len(suffix)]
    return None


def interpret(prompt: str) -> Interpretation:
    """Match vocabulary phrases in `prompt` and sum what they bring."""
    tokens = words(prompt)
    used = [False] * len(tokens)
    matches: list[tuple[int, str]] = []
    for phrase in _PHRASES:
        parts = phrase.split()
        if len(parts) == 1:
            continue
        n = len(parts)
        for i in range(len(tokens) - n + 1):
            if not any(used[i : i + n]) and tokens[i : i + n] == parts:
                matches.append((i, phrase))
                for j in range(i, i + n):
                    used[j] = True
    unknown: list[str] = []
    for i, tok in enumerate(tokens):
        if used[i]:
            continue
        found = _lookup(tok)
        if found is not None:
            matches.append((i, found))
        elif tok not in _STOPWORDS and not tok.isdigit():
            unknown.append(tok)
    matches.sort()

    out = Interpretation(unknown=unknown)
    for _, phrase in matches:
        term = VOCABULARY[phrase]
        out.terms.append(phrase)
        for c in term.colors:
            if c not in out.colors:
                out.colors.append(c)
        for fam, weight in term.motifs:
            out.motifs[fam] = out.motifs.get(fam, 0.0) + weight
        for eff in term.effects:
            if eff not in out.effects:
                out.effects.append(eff)
        out.warmth += term.warmth
        out.energy += term.energy
        out.light += term.light
        if term.grade and not out.grade:
            out.grade = term.grade
    n = max(1, len(out.terms))
    # Averages keep one strong word from being drowned by many neutral ones, but clamp.
    out.warmth = max(-1.0, min(1.0, out.warmth / n * 1.5))
    out.energy = max(-1.0, min(1.0, out.energy / n * 1.5))
    out.light = max(-1.0, min(1.0, out.light / n * 1.5))
    return out
