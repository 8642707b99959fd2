"""Forge: from raw data to a trained language model on your own machine."""

__version__ = "0.1.0"
