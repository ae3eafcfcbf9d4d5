"""An accelerator YAML's ``technology:`` section is used by map and evaluate_mapping."""

from __future__ import annotations

from click.testing import CliRunner

from codesign import Accelerator, Layer, Mapping
from codesign.arch.technology import Technology
from codesign.cli import main
from codesign.cost.single import evaluate_mapping
from codesign.search.mapper import map_layers
from codesign.workload.layer import LayerTable

LAYER = Layer.gemm(M=4, K=4, N=4)
MAPPING = Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                             "temporal": {"GLB": {"P": 4}}})


def test_evaluate_mapping_uses_the_accelerators_table():
    tech = Technology.default()
    costly = tech.replace(dram_pj_64b=tech.dram_pj_64b * 10)
    plain = evaluate_mapping(LAYER, Accelerator(pe_rows=4, pe_cols=4), MAPPING)
    own = evaluate_mapping(LAYER, Accelerator(pe_rows=4, pe_cols=4, technology=costly), MAPPING)
    assert own["energy_parts_pj"]["DRAM"] == plain["energy_parts_pj"]["DRAM"] * 10
    # an explicit table still wins
    given = evaluate_mapping(LAYER, Accelerator(pe_rows=4, pe_cols=4, technology=costly),
                             MAPPING, technology=tech)
    assert given["energy_pj"] == plain["energy_pj"]


def test_map_layers_uses_the_accelerators_table():
    tech = Technology.default()
    table = LayerTable.from_layers([LAYER])
    acc = Accelerator(pe_rows=4, pe_cols=4)
    plain = map_layers(table, acc, seed=0, effort="fast")
    own = map_layers(table, acc.replace(technology=tech.replace(
        dram_pj_64b=tech.dram_pj_64b * 10)), seed=0, effort="fast")
    assert own.total_energy_pj > plain.total_energy_pj


def test_cli_map_reads_the_yaml_technology(tmp_path, conv_gemm_onnx):
    base = tmp_path / "acc.yaml"
    base.write_text("pe_rows: 8\npe_cols: 8\nrf_words: 64\nglb_words: 65536\ndataflow: ws\n")
    costly = tmp_path / "costly.yaml"
    costly.write_text(base.read_text() + "technology: {dram_pj_64b: 6400.0}\n")

    def energy(path):
        out = tmp_path / path.stem
        result = CliRunner().invoke(main, ["map", conv_gemm_onnx, "--arch", str(path),
                                           "--effort", "fast", "--out", str(out)])
        assert result.exit_code == 0, result.output
        return result.output.split(" uJ")[0].rsplit(" ", 1)[-1]

    assert float(energy(costly)) > float(energy(base))
