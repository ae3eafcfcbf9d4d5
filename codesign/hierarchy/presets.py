"""Published accelerators as hierarchies: their real storage levels, per-tensor buffers,
bypass and fan-outs (the v1 presets in ``codesign/arch/presets`` squeeze the same chips into
one RF/GLB/DRAM template).

Each builder's docstring names its source and lists what is simplified. Energies and areas
are left at 0 here: `codesign.cost.levels.with_technology` fills them from one technology
table, so that presets compare on one process (the chips were built in 65, 28 and 16 nm).
Bandwidths are words per cycle per instance; a bandwidth the paper does not give is marked
as an assumption.

>>> sorted(HIERARCHY_PRESETS)
['eyeriss', 'gemmini', 'shidiannao', 'simba', 'tpu']
>>> [hierarchy_preset(n).n_compute for n in ("eyeriss", "simba", "tpu")]
[168, 36864, 16384]
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from codesign.errors import ConfigError
from codesign.hierarchy.levels import Compute, FanOut, Hierarchy, StorageLevel

__all__ = ["HIERARCHY_PRESETS", "eyeriss", "gemmini", "hierarchy_preset", "shidiannao",
           "simba", "tpu"]

_KIB = 1024


def eyeriss() -> Hierarchy:
    """Eyeriss (Y.-H. Chen, T. Krishna, J. Emer, V. Sze, JSSC 2017; ISCA 2016): 12 x 14 PEs
    at 200 MHz, 16-bit fixed point; per PE a 224-word filter scratchpad, a 12-word ifmap
    scratchpad and a 24-word psum scratchpad; a 108 KB global buffer that holds ifmaps and
    psums, which filters bypass; a 64-bit off-chip bus.

    Row stationary: filter rows, input channels and filters fold onto the 12 PE rows
    (``R C K`` on Y), output rows and columns onto the 14 columns (``P Q`` on X); partial
    sums add up a column (``reduce``); ifmaps and filters are multicast.

    Simplified: the three scratchpads are the partitions of one level (one loop nest for
    all three, where the chip runs them in lockstep anyway); the diagonal ifmap reuse and the
    PE-to-PE psum forwarding are the fan-out's multicast and reduction; run-length
    compression and zero skipping are not modelled; the GLB's 25 banks are one level with a
    shared bandwidth of 12 words per cycle (assumption: three 64-bit buses, filter, ifmap
    and psum); DRAM 4 words per cycle (the 64-bit bus at the core clock).
    """
    return Hierarchy("eyeriss", (
        StorageLevel("DRAM", word_bits=16, shared_bw=4.0),
        StorageLevel("GLB", keeps=("I", "O"), capacity_words=108 * _KIB // 2, word_bits=16,
                     shared_bw=12.0),
        FanOut("PE", x=14, y=12, x_dims=("P", "Q"), y_dims=("R", "C", "K")),
        StorageLevel("spad", partition_words={"W": 224, "I": 12, "O": 24}, word_bits=16),
    ), Compute("MAC"), clock_mhz=200.0)


def simba(chiplets: tuple[int, int] = (6, 6)) -> Hierarchy:
    """Simba (Y. S. Shao et al., MICRO 2019): a package of 6 x 6 chiplets; per chiplet a
    64 KB global PE buffer and 4 x 4 PEs; per PE a 32 KB weight buffer, an 8 KB input buffer,
    a 3 KB accumulation buffer (24-bit partial sums) and 8 vector-MAC lanes, each an 8-input
    dot product of 8-bit values (64 MACs per PE).

    Weights stream from DRAM to the PEs' weight buffers past the global buffer (which holds
    activations); a lane takes one output channel (``K`` on X), a dot product's inputs one
    input channel each (``C`` on Y).

    Simplified: the package network (NoP) and the on-chip NoC are two fan-outs with
    multicast and reduction, hop energies 0; the three PE buffers are the partitions of one
    level; the weight collector registers are left out; 1 GHz (assumption, mid-range of
    0.16-2 GHz); DRAM 32 words per cycle and global buffer 32 words per cycle (assumptions).
    """
    cx, cy = chiplets
    return Hierarchy("simba", (
        StorageLevel("DRAM", word_bits={"W": 8, "I": 8, "O": 24}, shared_bw=32.0),
        FanOut("chiplet", x=cx, y=cy),
        StorageLevel("GlobalBuffer", keeps=("I", "O"), capacity_words=64 * _KIB,
                     word_bits={"W": 8, "I": 8, "O": 24}, shared_bw=32.0),
        FanOut("PE", x=4, y=4),
        StorageLevel("PEBuffer", partition_words={"W": 32 * _KIB, "I": 8 * _KIB,
                                                  "O": 3 * _KIB // 3},
                     word_bits={"W": 8, "I": 8, "O": 24}),
        FanOut("lane", x=8, y=8, x_dims=("K",), y_dims=("C",)),
    ), Compute("MAC"), clock_mhz=1000.0)


def tpu() -> Hierarchy:
    """TPU v1 (N. P. Jouppi et al., ISCA 2017) at a quarter scale, as the v1 ``tpu``
    preset: a 128 x 128 weight-stationary systolic array of 8-bit MACs at 700 MHz (the chip:
    256 x 256); a 6 MiB unified buffer for activations (24 MiB); a weight FIFO of four tiles
    (four 64 KiB tiles: 4 x 16 Ki words at this scale); 1 MiB of 32-bit accumulators
    (4 MiB); 12 words per cycle of DRAM (34 GB/s at 700 MHz, scaled).

    Inputs enter the rows (``C`` on Y) and are passed along (multicast); partial sums flow
    down the columns (``K`` on X) and add up (``reduce``) into the accumulators. Each PE holds
    its weight and the shadow weight being shifted in.

    Simplified: pipeline fill and drain of the systolic array are not counted; activations
    written back to the unified buffer for the next layer go to DRAM here (one layer at a
    time); unified buffer 256 words per cycle (128 in, 128 out).
    """
    return Hierarchy("tpu", (
        StorageLevel("DRAM", word_bits={"W": 8, "I": 8, "O": 32}, shared_bw=12.0),
        StorageLevel("UnifiedBuffer", keeps=("I",), capacity_words=6 * _KIB * _KIB,
                     word_bits=8, shared_bw=256.0),
        StorageLevel("WeightFIFO", keeps=("W",), capacity_words=4 * 16 * _KIB, word_bits=8,
                     read_bw=128.0),
        StorageLevel("Accumulators", keeps=("O",), capacity_words=_KIB * _KIB // 4,
                     word_bits=32, shared_bw=256.0),
        FanOut("array", x=128, y=128, x_dims=("K",), y_dims=("C", "R", "S")),
        StorageLevel("WeightReg", keeps=("W",), capacity_words=2, word_bits=8),
    ), Compute("MAC"), clock_mhz=700.0)


def gemmini() -> Hierarchy:
    """Gemmini (H. Genc et al., DAC 2021), its default configuration: a 16 x 16 systolic
    mesh of 8-bit MACs, a 256 KiB scratchpad for inputs and weights, a 64 KiB accumulator of
    32-bit partial sums, a 128-bit system bus; weight stationary (``C`` on the rows, ``K`` on
    the columns), 1 GHz (assumption).

    Simplified: the output-stationary mode of the mesh is not offered (the preset is the WS
    mapping space); the scratchpad's four banks are one level of 32 words per cycle (16
    inputs and 16 weights, assumption); DRAM 16 words per cycle (the 128-bit bus).
    """
    return Hierarchy("gemmini", (
        StorageLevel("DRAM", word_bits={"W": 8, "I": 8, "O": 32}, shared_bw=16.0),
        StorageLevel("Scratchpad", keeps=("W", "I"), capacity_words=256 * _KIB, word_bits=8,
                     shared_bw=32.0),
        StorageLevel("Accumulator", keeps=("O",), capacity_words=64 * _KIB // 4, word_bits=32,
                     shared_bw=32.0),
        FanOut("mesh", x=16, y=16, x_dims=("K",), y_dims=("C", "R", "S")),
        StorageLevel("WeightReg", keeps=("W",), capacity_words=1, word_bits=8),
    ), Compute("MAC"), clock_mhz=1000.0)


def shidiannao() -> Hierarchy:
    """ShiDianNao (Z. Du et al., ISCA 2015): an 8 x 8 array of 16-bit PEs at 1 GHz, output
    stationary (each PE keeps its output neuron; an 8 x 8 patch of one output map, ``P`` on
    Y and ``Q`` on X); NBin 64 KB, NBout 64 KB, SB (synapses) 128 KB.

    Simplified: NBin, NBout and SB are the partitions of one level (one energy per access, of
    the 256 KB total); the inter-PE FIFOs that pass inputs to the neighbours are the fan-out's
    multicast, and each PE's input register and FIFO entries a two-word input partition;
    the 32 KB instruction buffer holds no data and is left out; the buffers' bandwidth of 16
    words per cycle (8 neurons + 8 synapses) and DRAM 2 words per cycle are assumptions.
    """
    return Hierarchy("shidiannao", (
        StorageLevel("DRAM", word_bits=16, shared_bw=2.0),
        StorageLevel("NB", partition_words={"W": 64 * _KIB, "I": 32 * _KIB, "O": 32 * _KIB},
                     word_bits=16, shared_bw=16.0),
        FanOut("PE", x=8, y=8, x_dims=("Q",), y_dims=("P",), reduce=False),
        StorageLevel("PEReg", keeps=("I", "O"), partition_words={"I": 2, "O": 1},
                     word_bits=16),
    ), Compute("MAC"), clock_mhz=1000.0)


#: Builders by name.
HIERARCHY_PRESETS: dict[str, Callable[[], Hierarchy]] = {
    "eyeriss": eyeriss, "simba": simba, "tpu": tpu, "gemmini": gemmini,
    "shidiannao": shidiannao}


def hierarchy_preset(name: str) -> Hierarchy:
    """The bundled hierarchy ``name``; `ConfigError` with a did-you-mean otherwise."""
    try:
        return HIERARCHY_PRESETS[name]()
    except KeyError:
        close = difflib.get_close_matches(str(name), list(HIERARCHY_PRESETS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"no hierarchy preset {name!r}{hint}; presets: "
                          f"{', '.join(sorted(HIERARCHY_PRESETS))}") from None
