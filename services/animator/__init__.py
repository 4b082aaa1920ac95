"""Animator: renders beat-locked video segments between keyframes and composes the final video."""
