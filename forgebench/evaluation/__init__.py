"""The one evaluation loop (detector × datasets × perturbations → per-image records), its thread pipeline,
the protocol's metrics, the SQLite store, the map cache, rescoring, perturbation chains and grids."""
