import pytest

from codesign.arch.accelerator import DATAFLOWS, Accelerator, Dataflow
from codesign.errors import ArchError


def test_dataflow_given_by_preset_name():
    acc = Accelerator(dataflow="os")
    assert acc.dataflow is DATAFLOWS["os"]
    assert acc.to_dict()["dataflow"] == "os"


def test_custom_dataflow_serialises_its_dims():
    acc = Accelerator(dataflow=Dataflow("mine", rows=("K",), cols=("P", "Q")))
    assert acc.to_dict()["dataflow"] == {"name": "mine", "rows": ["K"], "cols": ["P", "Q"]}


def test_every_bad_parameter_is_reported_at_once():
    with pytest.raises(ArchError) as err:
        Accelerator(pe_rows=0, glb_bw=-1.0, name="bad")
    message = str(err.value)
    assert "pe_rows" in message and "glb_bw" in message and "bad" in message


def test_unknown_dataflow_lists_the_presets():
    with pytest.raises(ArchError, match="ws, os, is, rs, flexible"):
        Accelerator(dataflow="systolic")


def test_unknown_dim_in_dataflow():
    with pytest.raises(ArchError, match="X"):
        Dataflow("bad", rows=("X",), cols=("K",))


def test_replace_keeps_the_rest():
    acc = Accelerator(pe_rows=8).replace(pe_cols=4)
    assert (acc.pe_rows, acc.pe_cols, acc.n_pes) == (8, 4, 32)
