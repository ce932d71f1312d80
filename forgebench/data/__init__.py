"""Datasets: the catalog (``datasets.yaml`` → specs), manifests of image/mask pairs, decoding, ground truth,
checks before a run, and the synthetic suite built from bundled photographs."""
