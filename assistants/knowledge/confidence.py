"""How the two rankers are fused, and how sure the assistant may be of its best passage.

Ranking: the lexical coverage (BM25 / what a passage with every query term would score) and the
dense cosine (rescaled above the floor where e5 puts unrelated texts) are summed with fixed weights;
on the tuning questions that beat either alone and reciprocal rank fusion (bench/answer_quality.py).

Confidence: a logistic regression on the features below, fitted by
`bench/answer_quality.py --calibrate` on the tuning thirds of bench/eval and bench/eval/tallybook
together (two knowledge bases; `--save-features` / `--also-features`; never the held-out thirds),
once for each mode, because without the embedding model the features mean less. The thresholds
are where no tuning question of either set is answered wrongly (0.80 let 2.7% through): out of sample,
on the held-out thirds, more get through, so the stricter one is kept.
"""

from __future__ import annotations

import math

import numpy as np

DENSE_FLOOR = 0.75  # e5 cosines of unrelated texts sit around 0.75-0.8: rescale what is above
WEIGHTS = {"lexical": 0.15, "dense": 0.85}
CALIBRATION = {
    "hybrid": {
        "bias": -1.124,
        "top": 1.011,
        "margin": 12.043,
        "lexical": 1.241,
        "dense": -1.182,
        "lexical_agrees": 0.49,
        "dense_agrees": 0.973,
    },
    "lexical": {"bias": -1.678, "top": 2.15, "margin": 3.649, "lexical": 1.544},
}
THRESHOLDS = {"hybrid": 0.85, "lexical": 0.70}
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


def features(hits, *, lexical_best: str = "", dense_best: str = "") -> dict:
    """What the confidence is computed from: the fused score of the best group, its margin over the
    runner-up, the best passage's own lexical coverage and dense similarity, and whether each ranker
    alone puts the same group first."""
    if not hits:
        return {"top": 0.0, "margin": 0.0, "lexical": 0.0, "dense": 0.0, "lexical_agrees": 0.0, "dense_agrees": 0.0}
    top = hits[0]
    second = hits[1].score if len(hits) > 1 else 0.0
    return {
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
