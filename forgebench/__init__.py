"""forgebench: reproducible benchmarking of image-forgery localizers."""

__version__ = "0.1.0"
