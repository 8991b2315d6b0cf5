"""Frozen data only: facts, the linked project, findings. Imports nothing else."""
