"""The one footprint formula works on ints and on tensors alike."""

import torch

from codesign.mapping.footprint import input_extent, tile_words


def test_input_extent_is_the_bounding_box():
    assert input_extent(1, 1, 4, 4) == 1
    assert input_extent(3, 1, 2, 1) == 5         # rows 0, 2, 4
    assert input_extent(2, 3, 1, 2) == 6         # rows 0..5: (2-1)*1 + (3-1)*2 + 1


def test_tile_words_on_ints():
    # depthwise box: G 4, P 2, Q 2, R 3, S 3, K = C = 1, stride 2
    w, i, o = tile_words(1, 4, 1, 1, 2, 2, 3, 3, stride=(2, 2), dilation=(1, 1))
    assert (w, i, o) == (4 * 9, 4 * 5 * 5, 4 * 4)


def test_tile_words_on_tensors_match_ints():
    ext = torch.tensor([[1, 2, 3, 4, 5, 6, 2, 1], [2, 1, 1, 3, 1, 2, 3, 3]])
    got = tile_words(*ext.unbind(-1), stride=(torch.tensor([1, 2]), torch.tensor([2, 1])),
                     dilation=(torch.tensor([1, 1]), torch.tensor([2, 1])))
    rows = ext.tolist()
    want = [tile_words(*rows[j], stride=((1, 2)[j], (2, 1)[j]), dilation=(1, (2, 1)[j]))
            for j in range(2)]
    assert [x.tolist() for x in got] == [list(c) for c in zip(*want, strict=True)]
