"""Footprints, reloads and the access table on inputs small enough to check by hand."""

import torch

from codesign import Layer, Mapping
from codesign.cost.access_counts import access_counts, box_extents, relevance, reloads, tiles
from codesign.mapping.batch import MappingBatch
from tests.golden import CONV, CONV_MAP  # the golden conv, 1152 MACs


def _batch(mapping):
    return MappingBatch.from_mappings([[mapping]])


def _tiles(layer, mapping):
    return tiles(_batch(mapping).factors, torch.tensor([layer.stride]),
                 torch.tensor([layer.dilation]))[0, 0]


def test_relevance_follows_design_md():
    assert relevance().tolist() == [
        # N  G  K  C  P  Q  R  S
        [0, 1, 1, 1, 0, 0, 1, 1],   # W <- G K C R S
        [1, 1, 0, 1, 1, 1, 1, 1],   # I <- N G C P Q R S
        [1, 1, 1, 0, 1, 1, 0, 0],   # O <- N G K P Q
    ]


def test_box_extents_multiply_inward_out():
    ext = box_extents(_batch(CONV_MAP).factors)[0, 0]
    #                       N  G  K  C  P  Q  R  S
    assert ext.tolist() == [[1, 1, 1, 1, 1, 1, 3, 3],    # RF: R3 S3
                            [1, 1, 2, 2, 1, 1, 3, 3],    # array: x rows C2, cols K2
                            [1, 1, 2, 2, 4, 4, 3, 3],    # GLB: x P4 Q4
                            [1, 1, 4, 2, 4, 4, 3, 3]]    # whole: x DRAM K2


def test_golden_conv_tiles():
    # RF box R3 S3: W 3*3 = 9; I rows (1-1)*1 + (3-1)*1 + 1 = 3, cols 3 -> 9; O 1.
    # array box K2 C2 R3 S3: W 2*2*9 = 36; I C2 * 3 * 3 = 18; O K2 = 2.
    # GLB box K2 C2 P4 Q4 R3 S3: W 36; I C2 * (3+3-1=6) * 6 = 72; O 2*4*4 = 32.
    # whole K4 ...: O 4*16 = 64 = |O|.
    assert _tiles(CONV, CONV_MAP)[:, 2].tolist() == [1, 2, 32, 64]
    assert _tiles(CONV, CONV_MAP).tolist() == [[9, 9, 1], [36, 18, 2], [36, 72, 32],
                                               [72, 72, 64]]


def test_input_tile_uses_stride_and_dilation_bounding_box():
    # P 2, R 2 in one RF box: stride 3, dilation 2 -> rows (2-1)*3 + (2-1)*2 + 1 = 6
    # (rows 0, 2, 3, 5 touched; the bounding box 0..5 is fetched); cols 1.
    layer = Layer.conv(K=1, C=1, P=2, Q=1, R=2, S=1, stride=(3, 1), dilation=(2, 1))
    m = Mapping.from_json({"temporal": {"RF": {"P": 2, "R": 2}}})
    assert _tiles(layer, m)[0].tolist() == [2, 6, 2]


def test_golden_conv_reloads():
    # Above RF (inner -> outer): GLB Q4, GLB P4, DRAM K2.
    #   W: Q, P irrelevant -> skipped; K relevant -> 2.
    #   I: Q relevant at once -> 4 * 4 * 2 = 32.   O: same -> 32.
    # Above GLB: DRAM K2.  W: 2.  I: K irrelevant, nothing left -> 1.  O: 2.
    batch = _batch(CONV_MAP)
    assert reloads(batch.factors, batch.order)[0, 0].tolist() == [[2, 32, 32], [2, 1, 2]]


def test_reloads_irrelevant_outer_loops_multiply_once_started():
    # GLB order K (outer), C (inner), both factor 3. W: C relevant -> 3 * 3 = 9.
    # O: C irrelevant skipped, K relevant -> 3. I: C relevant -> 9 (K outer multiplies too).
    m = Mapping.from_json({"temporal": {"GLB": {"K": 3, "C": 3}}, "order": {"GLB": ["K", "C"]}})
    batch = _batch(m)
    assert reloads(batch.factors, batch.order)[0, 0, 0].tolist() == [9, 9, 3]
    # Swapped order: I sees K innermost (irrelevant, skipped), then C -> 3 only.
    m = Mapping.from_json({"temporal": {"GLB": {"K": 3, "C": 3}}, "order": {"GLB": ["C", "K"]}})
    batch = _batch(m)
    assert reloads(batch.factors, batch.order)[0, 0, 0].tolist() == [9, 3, 9]


def test_reloads_cross_from_glb_to_dram_loops():
    # Above RF, inner -> outer: GLB K3, DRAM Q2, DRAM P2 (unlisted order: DIMS order).
    # W, O: K relevant at once -> 3 * 2 * 2 = 12. I: K skipped, Q relevant -> 2 * 2 = 4.
    # Above GLB: W has no relevant loop -> 1; I and O: Q relevant -> 4.
    m = Mapping.from_json({"temporal": {"GLB": {"K": 3}, "DRAM": {"P": 2, "Q": 2}}})
    batch = _batch(m)
    assert reloads(batch.factors, batch.order)[0, 0].tolist() == [[12, 4, 12], [1, 4, 4]]


def test_golden_conv_access_table():
    batch = _batch(CONV_MAP)
    tile = tiles(batch.factors, torch.tensor([CONV.stride]), torch.tensor([CONV.dilation]))
    got = access_counts(tile, reloads(batch.factors, batch.order), torch.tensor([[4]]),
                        torch.tensor([CONV.macs]))[0, 0].tolist()
    macs = 1152          # 4 * 2 * 4 * 4 * 3 * 3
    # updates_GLB = reloads(O, RF) 32 * tile(O, array) 2 = 64; updates_DRAM = 2 * 32 = 64;
    # |O| = 64, so no partial sum is ever read back.
    assert got == [
        # RF: W, I reads = MACs; writes = reloads(t, RF) * tile(t, RF) * 4 PEs
        #     W 2*9*4 = 72, I 32*9*4 = 1152; O reads MACs + 32*1*4, writes MACs + 64 - 64
        [[macs, 72], [macs, 1152], [macs + 128, macs]],
        # GLB: W, I reads = reloads(t, RF) * tile(t, array): W 2*36, I 32*18 = 576;
        #      writes = reloads(t, GLB) * tile(t, GLB): W 2*36, I 1*72;
        #      O reads (64-64) + 64, writes 64 + (64-64)
        [[72, 72], [576, 72], [64, 64]],
        # DRAM: W, I reads = GLB writes; O reads 64 - 64, writes 64
        [[72, 0], [72, 0], [0, 64]],
    ]


def test_partial_sums_read_back_when_reduction_is_outside():
    # K=2, C=2 both at DRAM, C outer, K inner: O is reloaded K2 then x C2 = 4 times with
    # 1-word tiles, so updates_DRAM = 4 for |O| = 2 outputs: 2 partial sums read back.
    layer = Layer.conv(K=2, C=2, P=1, Q=1)
    m = Mapping.from_json({"temporal": {"DRAM": {"C": 2, "K": 2}},
                           "order": {"DRAM": ["C", "K"]}})
    batch = _batch(m)
    tile = tiles(batch.factors, torch.tensor([layer.stride]), torch.tensor([layer.dilation]))
    got = access_counts(tile, reloads(batch.factors, batch.order), torch.tensor([[1]]),
                        torch.tensor([layer.macs]))[0, 0]
    # W: reloads 4 (K relevant innermost) x 1 word; I: K skipped, C relevant -> 2 x 1.
    assert got[2].tolist() == [[4, 0], [2, 0], [2, 4]]
    # GLB O: reads (updates_GLB 4 - 2) + updates_DRAM 4 = 6; writes 4 + (4 - 2) = 6.
    assert got[1, 2].tolist() == [6, 6]


def test_float_factors_give_float_counts_with_gradients():
    factors = _batch(CONV_MAP).factors.to(torch.float64).requires_grad_()
    tile = tiles(factors, torch.tensor([CONV.stride]), torch.tensor([CONV.dilation]))
    acc = access_counts(tile, reloads(factors, _batch(CONV_MAP).order),
                        factors[..., 2:4, :].flatten(-2).prod(-1), torch.tensor([CONV.macs]))
    assert acc.dtype == torch.float64
    assert acc[0, 0, 2, 1, 0].item() == 72.0          # same number as the int path
    acc.sum().backward()
    assert torch.isfinite(factors.grad).all() and factors.grad.abs().sum() > 0
