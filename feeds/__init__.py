"""Tocsin's feed library: fetch sources, parse them, normalise entries into `Item`s.

It imports nothing from `bot/`, Slack, the database or the scheduler.
"""
