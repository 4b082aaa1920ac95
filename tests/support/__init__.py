"""Test doubles and harnesses shared by tests and benchmarks (never imported by product code).

They speak the real protos over real gRPC on loopback; they stand in for a neighbour service
only where a test is about one service's own behaviour.
"""
