"""The accelerator as a hierarchy of storage levels and fan-outs, and its batched counts."""

from codesign.hierarchy.counts import CountingRules, NestCounts, nest_counts
from codesign.hierarchy.levels import Compute, FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.nest import LoopNest, NestBatch

__all__ = ["Compute", "CountingRules", "FanOut", "Hierarchy", "LoopNest", "NestBatch",
           "NestCounts", "StorageLevel", "nest_counts"]
