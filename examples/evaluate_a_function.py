# %% [markdown]
# # Evaluate your own localizer from Python
#
# A forgery localizer is, at its simplest, a function from an RGB image (H×W×3, uint8) to a map of the
# probability that each pixel was forged (H×W, floats in [0, 1]). `forgebench.evaluate` scores such a function
# with the same loop, store and protocol as `forgebench run`: pixel F1 and IoU at the fixed threshold 0.5 per
# tampered image, averaged per dataset and weighted by image counts. No package, no entry point, no files of maps.
#
# This example runs on a fresh machine: the `synthetic` suite is built from photographs bundled with
# scikit-image. Run it as a script (`python examples/evaluate_a_function.py`) or cell by cell in a notebook.

# %%
import numpy as np
from scipy import ndimage

import forgebench

RESULTS = "example-results"  # a results folder of its own; any folder works, the CLI's included


# %% [markdown]
# ## A detector in ten lines
# Pasted or cloned regions often carry a different noise level from the rest of the photograph. This function
# measures the local energy of the high-frequency residual and marks the pixels whose energy stands out.


# %%
def noise_outliers(pixels: np.ndarray) -> np.ndarray:
    gray = pixels.astype(np.float32).mean(axis=2)
    residual = gray - ndimage.median_filter(gray, size=3)
    energy = ndimage.uniform_filter(residual**2, size=15)
    z = (energy - np.median(energy)) / (energy.std() + 1e-6)
    return 1.0 / (1.0 + np.exp(-z))  # a z-score of 0 is probability 0.5


# %% [markdown]
# ## Evaluate it, clean and after JPEG compression
# `name` files the results in the store; the function's code is digested too, so an edited function is a new
# configuration and never reuses the old one's results. Pass `version="…"` for what the code does not show
# (for a neural network: its weights).

# %%
results = forgebench.evaluate(
    noise_outliers, name="noise-outliers", suite="synthetic", perturb=["clean", "jpeg:q=70"], results=RESULTS
)
print(f"{results.label}: {results.calls} calls")

# %% [markdown]
# Calling it again scores nothing: every image is already in the store, so the function is not called.

# %%
again = forgebench.evaluate(
    noise_outliers, name="noise-outliers", suite="synthetic", perturb=["clean", "jpeg:q=70"], results=RESULTS
)
assert again.calls == 0

# %% [markdown]
# ## Rank it against a baseline
# Any detector of `forgebench list detectors` runs into the same folder by name. The leaderboard is the paper's
# table shape (per-dataset F1 / IoU, then the weighted average); `compare` is the paired test on the same images.

# %%
forgebench.evaluate("ela", suite="synthetic", perturb=["clean", "jpeg:q=70"], results=RESULTS)
print(results.leaderboard().round(3).to_string(index=False))

# %%
comparison = results.compare("ela")
print(comparison[["dataset", "pairs", "difference", "difference low", "difference high", "p (Holm)"]].round(3))
print(*comparison.attrs["verdicts"], sep="\n")

# %% [markdown]
# ## Robustness and files
# Weighted-average F1 at each perturbation evaluated, and the Markdown / CSV files `forgebench leaderboard` writes.

# %%
print(results.robustness().round(3).to_string(index=False))
for path in results.write():
    print("written:", path)

# %% [markdown]
# ## The batch form
# A function that works on several images at once (a network on a GPU) takes a list and returns a list;
# `batch_size` sets how many it gets.


# %%
def noise_outliers_batch(images: list[np.ndarray]) -> list[np.ndarray]:
    return [noise_outliers(image) for image in images]


batched = forgebench.evaluate(
    noise_outliers_batch, name="noise-outliers-batch", batch=True, batch_size=16, suite="synthetic", results=RESULTS
)
same = batched.leaderboard().set_index("Detector")
assert same.loc["noise-outliers-batch", "Weighted Avg. F1"] == same.loc["noise-outliers", "Weighted Avg. F1"]
