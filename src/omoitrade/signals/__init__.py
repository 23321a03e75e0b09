"""The signal pipeline: signal -> validation -> execution -> management -> settlement."""
