"""Timeloop v0.4 files in: architectures, problems, mappings, Accelergy ERTs, stats."""
