"""Hypothesis strategy shared by the property tests: random (layer, mapping, accelerator)."""

import math
import random

from hypothesis import strategies as st
from loopnest_sim import random_case

from codesign import Accelerator
from codesign.workload.layer import DIMS


@st.composite
def cases(draw):
    """A random (layer, mapping) and an accelerator whose array holds the mapping."""
    layer, mapping = random_case(random.Random(draw(st.integers(0, 2**32 - 1))))
    rows = math.prod(mapping.factor("rows", d) for d in DIMS)
    cols = math.prod(mapping.factor("cols", d) for d in DIMS)
    acc = Accelerator(pe_rows=rows * draw(st.integers(1, 3)),
                      pe_cols=cols * draw(st.integers(1, 3)),
                      rf_words=draw(st.sampled_from([8, 64, 1024])),
                      glb_words=draw(st.sampled_from([64, 4096, 1 << 20])),
                      glb_bw=draw(st.sampled_from([0.5, 4.0, 64.0])),
                      dram_bw=draw(st.sampled_from([0.25, 2.0, 16.0])),
                      word_bits=draw(st.sampled_from([8, 16])))
    return layer, mapping, acc
