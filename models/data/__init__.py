"""Parallel (English, xx) text from registry packages: the distillation's training data."""
