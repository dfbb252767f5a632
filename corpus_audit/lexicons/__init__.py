"""Shipped word lists and their loaders (pronouns, HolisticBias descriptors, Gender-GAP nouns).

Each analysis that matches words keeps its list here, with a loader that validates the file
and names it and its version in ``summary.json``.
"""
