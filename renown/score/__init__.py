"""Scoring: features from the event log, the reaction graph, the score model,
calibration to 1–100, and dated snapshots. The version of the algorithm is
:data:`renown.score.version.SCORING_VERSION`."""
