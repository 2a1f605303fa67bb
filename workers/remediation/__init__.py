"""Remediations: plan (pure), apply (minimal directory write), verify (re-read and re-diagnose)."""
