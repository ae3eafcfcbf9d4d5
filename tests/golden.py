"""The golden conv shared by the hand-checked cost tests: K=4 C=2 P=4 Q=4 R=3 S=3 (N=G=1,
stride 1), 1152 MACs, mapped as DRAM K:2 -> GLB P:4, Q:4 (order P, Q) -> rows C:2, cols K:2
-> RF R:3, S:3, on a 2 x 2 array."""

from codesign import Accelerator, Layer, Mapping

CONV = Layer.conv(K=4, C=2, P=4, Q=4, R=3, S=3)
CONV_MAP = Mapping.from_json({
    "spatial": {"rows": {"C": 2}, "cols": {"K": 2}},
    "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"P": 4, "Q": 4}, "DRAM": {"K": 2}},
    "order": {"RF": ["R", "S"], "GLB": ["P", "Q"], "DRAM": ["K"]},
})
SMALL = Accelerator(pe_rows=2, pe_cols=2, rf_words=64, glb_words=1024, glb_bw=32.0,
                    dram_bw=8.0)
