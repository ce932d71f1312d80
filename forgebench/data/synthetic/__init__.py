"""The embedded default benchmark: seeded splices, copy-moves and removals with exact masks.

Built from photographs bundled with scikit-image and matplotlib, so forgebench runs with no dataset
downloaded. Layout under the returned root: ``<split>/<kind>/images/<kind>-NNNN.{jpg,png}``,
``<split>/<kind>/masks/<kind>-NNNN.png`` (255 = forged) and ``<split>/<kind>/authentic/auth-NNNN.{jpg,png}``.
"""

from forgebench.data.synthetic.build import GENERATOR_VERSION, SyntheticConfig, config_hash, describe, ensure_synthetic
from forgebench.data.synthetic.forge import KINDS, Sample, make_sample
from forgebench.data.synthetic.sources import SOURCE_SPLITS

__all__ = [
    "GENERATOR_VERSION",
    "KINDS",
    "SOURCE_SPLITS",
    "Sample",
    "SyntheticConfig",
    "config_hash",
    "describe",
    "ensure_synthetic",
    "make_sample",
]
