"""Concept service: music analysis (tempo, beats, sections, key, mood) and the video concept."""
