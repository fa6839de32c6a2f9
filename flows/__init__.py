"""Prefect 3 flows: the scheduled and on-demand work."""
