"""Deep forgery localizers re-implemented from their papers and official architectures, loading the checkpoints
their authors publish."""
