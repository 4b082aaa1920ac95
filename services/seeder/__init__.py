"""Seeder: one keyframe image per key moment of a video concept.

The default backend is a procedural image engine (numpy/OpenCV, no model downloads): prompt words
pick palettes, motif families and textures; the music's mood and each moment's role and intensity
set composition, contrast, saturation and density. HTTP adapters for Automatic1111-compatible and
OpenAI-compatible image APIs plug in behind the same backend interface.
"""
