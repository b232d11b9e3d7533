"""The scoring algorithm's version: one constant, stamped on every snapshot.

Change it with every change to what a score means (features, weights,
discounts, calibration) and add a CHANGELOG.md entry saying what and why.
"""

SCORING_VERSION = "1.1.1"
