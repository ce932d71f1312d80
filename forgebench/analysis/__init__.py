"""From stored records to numbers: the leaderboard model, bootstrap intervals, paired comparisons,
robustness tables and threshold curves."""
