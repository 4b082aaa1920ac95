"""Section roles from repetition, energy and position.

- chorus: the repeated material the song is loudest on; among repeated groups about as loud
  as the loudest (within CHORUS_TIE), the most repeated one (the loudest one-off only when no
  loud material repeats). Other loud material is verse: a loud song is not all chorus.
- breakdown: a deep dip after loud material with more music after it; drop: the loud return.
- bridge: one-off material in the second half (contrast: nothing else sounds like it); the
  first of a run of one-offs only, the rest is new verse material (through-composed music).
- intro / outro: quieter material at the ends that the body does not repeat; the last section
  is also an outro when it fades out.
- A song rarely opens on its chorus: the first section keeps a chorus (or drop) role only when
  it is repeated material and the loudest of the song; otherwise it is the intro when quieter
  than the body, else the first verse (the chorus is what it builds to).
- verse: the rest.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

ROLES = ("intro", "verse", "chorus", "bridge", "breakdown", "drop", "outro")
CHORUS_LOUD = 0.9  # a chorus group is at least this share of the loudest group's energy
CHORUS_TIE = 0.03  # energy (0..1) within which the more repeated group wins
INTRO_MARGIN = 0.03  # an intro is quieter than every body section by at least this (0..1)
END_QUIET = 0.75  # an end section below this share of the loudest is "quieter"
BRIDGE_FROM = 0.45  # bridges start after this share of the song


def _chorus_group(e: np.ndarray, groups: list[int], counts: Counter[int]) -> int:
    group_e = {g: float(np.mean([e[i] for i in range(e.size) if groups[i] == g])) for g in counts}
    top = max(group_e.values())
    loud = [g for g in counts if group_e[g] >= CHORUS_LOUD * top]
    repeated = [g for g in loud if counts[g] > 1]
    if not repeated:
        return max(loud, key=lambda g: group_e[g])
    best_e = max(group_e[g] for g in repeated)
    near = [g for g in repeated if group_e[g] >= best_e - CHORUS_TIE]
    return max(near, key=lambda g: (counts[g], group_e[g]))


def assign_roles(
    energies: list[float],
    groups: list[int],
    starts: list[float],
    duration: float,
    fading_end: bool = False,
) -> list[str]:
    n = len(energies)
    if n == 0:
        return []
    if n == 1:
        return ["verse"]
    e = np.array(energies)
    emax = float(e.max())
    counts = Counter(groups)
    chorus_g = _chorus_group(e, groups, counts)
    roles = ["chorus" if g == chorus_g else "verse" for g in groups]
    # Breakdown: a deep dip after loud material, with more music after it; drop: loud return.
    for i in range(1, n - 1):
        if e[i] < 0.7 * emax and e[i] < e[i - 1] - 0.15 and max(e[i + 1 :]) > e[i] + 0.15:
            roles[i] = "breakdown"
            if e[i + 1] >= 0.85 * emax:
                roles[i + 1] = "drop"
    # A drop's repeats are drops too (the first one follows the intro, not a breakdown).
    drop_groups = {groups[i] for i in range(n) if roles[i] == "drop"}
    for i in range(n):
        if groups[i] in drop_groups and roles[i] == "chorus":
            roles[i] = "drop"
    # Bridge: one-off, non-chorus material in the second half, the first of a run of them.
    for i in range(1, n - 1):
        one_off = roles[i] == "verse" and counts[groups[i]] == 1
        if one_off and starts[i] > BRIDGE_FROM * duration and roles[i - 1] != "bridge":
            roles[i] = "bridge"
    # Intro/outro: quieter material at the ends that the body of the song does not repeat.
    body = set(groups[1:-1])
    quiet_first = e[0] < END_QUIET * emax or e[0] <= float(np.median(e)) + 1e-6
    # ...and quieter than the whole body: otherwise it is the first verse (that is not repeated).
    # (breakdowns are dips by definition and do not count).
    body_e = [e[i] for i in range(1, n - 1) if roles[i] != "breakdown"]
    below_body = not body_e or e[0] < min(body_e) - INTRO_MARGIN
    if quiet_first and below_body and (groups[0] not in body or e[0] < 0.5 * emax):
        roles[0] = "intro"
    quiet_last = e[-1] < END_QUIET * emax or e[-1] <= float(np.median(e)) + 1e-6
    if n >= 3 and (fading_end or (quiet_last and (groups[-1] not in body or e[-1] < 0.5 * emax))):
        roles[-1] = "outro"
    # A song rarely opens on its chorus (or drop): only when it is repeated material and the
    # loudest of the song.
    if roles[0] in ("chorus", "drop") and (counts[groups[0]] == 1 or e[0] < float(e[1:].max())):
        roles[0] = "intro" if below_body and n >= 3 else "verse"
    return roles
