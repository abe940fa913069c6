"""Adapters to the trainers users run (optional extras, imported lazily)."""
