"""Typed, frozen schemas for every data file, and the loaders that read them with positions."""
