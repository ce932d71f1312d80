"""``forgebench datasets prepare``: from what the user downloaded to a dataset in the form the catalog reads."""

from forgebench.data.prepare.layout import Prepared, prepare
from forgebench.data.prepare.plan import PrepareError

__all__ = ["PrepareError", "Prepared", "prepare"]
