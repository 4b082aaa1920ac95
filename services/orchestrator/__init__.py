"""Orchestrator: the project state machine, persistence, fan-out over animators, retries, resume."""
