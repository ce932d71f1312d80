"""Versions of the packages a result depends on, recorded with every evaluation."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from PIL import features

PACKAGES = ("forgebench", "numpy", "opencv-python-headless", "pillow", "pywavelets", "scipy", "torch", "diffusers")


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "libjpeg-turbo": str(features.version("libjpeg_turbo"))}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
