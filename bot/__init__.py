"""Tocsin: the application (config, storage, matching, alerts, briefings, Slack, CLI)."""

__version__ = "0.1.0"
