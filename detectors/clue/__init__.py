"""CLUE: a LoRA-tuned SD3 transformer reading Rectified-Flow-noised VAE latents, fused with a LoRA-tuned SAM encoder.

Parts: :mod:`.config` (what to build, presets), :mod:`.backbones` (loading SD3 and SAM weights), :mod:`.noise`
(noise schedules), :mod:`.sd3_branch`, :mod:`.sam_branch`, :mod:`.fusion` (fusion module and head), :mod:`.model`
(the whole network), :mod:`.loss`, :mod:`.checkpoint` (safetensors checkpoints of the trained tensors),
:mod:`.plugin` (the ``clue`` detector) and :mod:`.train` (``forgebench train clue``).
"""
