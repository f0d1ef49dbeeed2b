"""How the two rankers are fused, and how sure the assistant may be of its best passage.

Ranking: the lexical coverage (BM25 / what a passage with every query term would score) and the
dense cosine (rescaled above the floor where e5 puts unrelated texts) are summed with fixed weights;
on the tuning questions that beat either alone and reciprocal rank fusion (bench/answer_quality.py).

Confidence: a logistic regression on the features in FEATURES, fitted by
`bench/answer_quality.py --calibrate` on the tuning thirds of all three evaluation sets together
(three knowledge bases: bench/eval, tallybook, taskloom; `--save-features` / `--also-features`;
never the held-out thirds), once for each mode, because without the embedding model the features
mean less. The hybrid one reads the fused margin, the best passage's similarity and how far each
ranker alone puts the answer ahead of every other article: a wide fused margin that one ranker
contradicts is how a wrong answer looked. The threshold is judged on knowledge bases the fit has
not seen (`--calibrate` prints each set scored by a fit on the other two): 0.70 gave 2.0 to 3.3 %
confidently wrong there, but 6 % on the three held-out thirds together, so 0.75 (0 to 2.3 % there)
is kept: a wrong answer costs more than a question back.
"""

from __future__ import annotations

import math

import numpy as np

DENSE_FLOOR = 0.75  # e5 cosines of unrelated texts sit around 0.75-0.8: rescale what is above
WEIGHTS = {"lexical": 0.15, "dense": 0.85}
CALIBRATION = {
    "hybrid": {"bias": -0.155, "margin": 10.543, "dense": 2.967, "lexical_lead": 1.643, "dense_lead": 46.197},
    "lexical": {"bias": -1.678, "top": 2.15, "margin": 3.649, "lexical": 1.544},
}
FEATURES = {  # what each mode's calibration reads (bench/answer_quality.py --calibrate fits these)
    "hybrid": ["margin", "dense", "lexical_lead", "dense_lead"],
    "lexical": ["top", "margin", "lexical"],
}
THRESHOLDS = {"hybrid": 0.75, "lexical": 0.70}
PLAUSIBLE = 0.3  # a fused score worth naming in a clarifying question


def fuse(lex: np.ndarray, dense: np.ndarray | None, has_vector: np.ndarray | None = None) -> np.ndarray:
    """One score per passage in 0..1. A passage without a vector yet (saved, not indexed) is judged
    by its lexical score alone rather than as if it were unrelated."""
    lex = np.minimum(lex, 1.5) / 1.5
    if dense is None:
        return lex
    rescaled = np.clip((dense - DENSE_FLOOR) / (1 - DENSE_FLOOR), 0, 1)
    fused = WEIGHTS["lexical"] * lex + WEIGHTS["dense"] * rescaled
    return fused if has_vector is None else np.where(has_vector, fused, lex)


def _lead(scores: dict[str, float], group: str) -> float:
    """How far one ranker puts this group ahead of every other group (negative: behind one)."""
    others = [v for g, v in scores.items() if g != group]
    return scores.get(group, 0.0) - max(others) if others else scores.get(group, 0.0)


def features(hits, *, lexical_best: str = "", dense_best: str = "", by_group: dict | None = None) -> dict:
    """What the confidence is computed from: the fused score of the best group, its margin over the
    runner-up, the best passage's own lexical coverage and dense similarity, whether each ranker
    alone puts the same group first, and by how much each ranker alone puts it ahead (a margin per
    ranker: the fused margin can be wide while one ranker prefers another article)."""
    if not hits:
        return dict.fromkeys(
            ("top", "margin", "lexical", "dense", "lexical_agrees", "dense_agrees", "lexical_lead", "dense_lead"), 0.0
        )
    top = hits[0]
    second = hits[1].score if len(hits) > 1 else 0.0
    by_group = by_group or {}
    return {
        "lexical_lead": max(min(_lead(by_group.get("lexical", {}), top.group), 1.5), -1.5),
        "dense_lead": _lead(by_group.get("dense", {}), top.group) if by_group.get("dense") else 0.0,
        "top": top.score,
        "margin": top.score - second,
        "lexical": min(top.lexical, 1.5),
        "dense": max((top.dense or 0.0) - DENSE_FLOOR, 0.0),
        "lexical_agrees": float(lexical_best == top.group),
        "dense_agrees": float(dense_best == top.group),
    }


def calibrated(features: dict, mode: str) -> float:
    weights = CALIBRATION[mode]
    z = weights["bias"] + sum(weights[k] * features.get(k, 0.0) for k in weights if k != "bias")
    return 1 / (1 + math.exp(-z))


def threshold(mode: str) -> float:
    return THRESHOLDS[mode]
