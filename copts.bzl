"""Compiler options silly's targets carry themselves, so that a workspace
that uses silly builds it without silly's .bazelrc."""

SILLY_COPTS = ["-std=c++17"]
