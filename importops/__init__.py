"""Rocket.Chat-compatible import operations for Django projects."""

__version__ = "0.1.0"
