"""Tests for codesign/results/report.py: report.html from a real (tiny) run folder.

The browser checks (plots render, no script errors, screenshot not blank) are in
test_report_browser.py; here: the file's content, self-containment and the errors.
"""

from __future__ import annotations

import json
import re

import pytest

from codesign.errors import ConfigError
from codesign.results.names import MAX_LABEL_CHARS
from codesign.results.report import (
    PNG_FILES,
    REPORT_FILE,
    _mapping_text,
    _shape_text,
    default_design,
    fixed_parameters,
    generate_report,
    read_run,
    render_report,
    write_report,
)
from codesign.workload.layer import Layer, LayerTable

#: A layer name that would end the data <script> early if it were not escaped.
NASTY = "conv</script><!--<b>1"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real run folder: `explore` on two tiny layers, 2 generations of 6 designs."""
    from codesign.api import explore

    table = LayerTable.from_layers([Layer.gemm(M=8, K=8, N=8, name="fc1"),
                                    Layer.conv(N=1, G=1, K=8, C=4, P=6, Q=6, R=3, S=3,
                                               name=NASTY)])
    folder = tmp_path_factory.mktemp("run")
    explore(table, population=6, generations=2, seed=0, out=folder, force=True, plot=False)
    # explore itself writes the report (without PNGs when plot=False)
    assert (folder / REPORT_FILE).is_file() and not (folder / "layers.png").exists()
    return folder


def _page_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="run-data">(.*?)</script>', page,
                      re.S)
    assert match, "no data block"
    return json.loads(match.group(1))


def test_every_design_is_in_the_table_and_the_data(run_dir):
    designs = json.loads((run_dir / "designs.json").read_text())["designs"]
    page = render_report(run_dir)
    assert designs, "the fixture run found no design"
    rows = re.findall(r'<tr data-design="(\d+)"', page)
    assert rows == [str(i) for i in range(len(designs))]
    data = _page_data(page)
    assert [d["design"] for d in data["designs"]] == [d["design"] for d in designs]
    layer = data["designs"][0]["layers"][1]
    assert layer["names"] == [NASTY]             # survived the escaping intact
    assert layer["lower_bound"]["cycles"] > 0 and layer["bound"] in ("compute", "glb", "dram")
    n_history = len((run_dir / "history.csv").read_text().splitlines()) - 1   # less header
    assert len(data["history"]) == n_history >= 2


def test_the_page_is_self_contained(run_dir):
    page = render_report(run_dir)
    assert "<link" not in page and " src=" not in page
    # the only URL is the SVG namespace name, which is never fetched
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count("</script>") == 3          # data, error hook, plotting script


def test_write_report_writes_html_and_pngs(run_dir):
    from matplotlib.image import imread

    path = write_report(run_dir)
    assert path == run_dir / REPORT_FILE and path.read_text().startswith("<!DOCTYPE html>")
    for name in PNG_FILES:
        pixels = imread(run_dir / name)
        assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[-1])[::97]}) > 2, name


def test_png_design_must_exist(run_dir):
    n = len(read_run(run_dir)["designs"])
    with pytest.raises(ConfigError, match=f"--design {n}: the run has {n} Pareto designs"):
        write_report(run_dir, design=n)


def test_an_empty_front_still_renders(tmp_path):
    (tmp_path / "designs.json").write_text(json.dumps({"objectives": ["latency"],
                                                       "designs": []}))
    page = render_report(tmp_path)
    assert "<tbody></tbody>" in page and _page_data(page)["designs"] == []
    write_report(tmp_path)
    assert (tmp_path / "convergence.png").exists() and not (tmp_path / "layers.png").exists()


def test_default_design_has_the_lowest_edp():
    designs = [{"metrics": {"edp_js": 3.0}}, {"metrics": {"edp_js": 1.0}},
               {"metrics": {"edp_js": 2.0}}]
    assert default_design(designs) == 1
    assert default_design([{"metrics": {}}]) == 0


def test_mapping_and_shape_text():
    mapping = {"spatial": {"rows": {"C": 16}, "cols": {"K": 16}},
               "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"P": 14, "Q": 14, "C": 4},
                            "DRAM": {"K": 4}},
               "order": {"RF": ["R", "S"], "GLB": ["C", "P", "Q"], "DRAM": ["K"]}}
    assert _mapping_text(mapping) == ("DRAM: K4 | GLB: C4 P14 Q14 | rows: C16 | cols: K16 | "
                                      "RF: R3 S3")
    shape = Layer.conv(N=1, G=1, K=64, C=3, P=112, Q=112, R=7, S=7, stride=2).to_dict()
    assert _shape_text(shape) == "Conv K64 C3 P112 Q112 R7 S7 /2"


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "no designs.json"),
    (lambda d: (d / "designs.json").write_text("{not json"), "not readable JSON"),
    (lambda d: (d / "designs.json").write_text('{"designs": {}}'), "no 'designs' list"),
    (lambda d: (d / "designs.json").write_text('{"designs": [{"metrics": {}}]}'),
     "design #0 lacks accelerator, layers"),
])
def test_bad_run_folders_say_what_is_wrong(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(ConfigError, match=message):
        read_run(tmp_path)


def test_a_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such folder"):
        read_run(tmp_path / "nope")


def test_generate_report_is_pure():
    run = {"folder": "x", "objectives": [], "designs": [], "history": [], "run": {}}
    assert generate_report(run) == generate_report(run)


# -- what a newcomer needs to read the page (issue 14) ---------------------------------------

def test_the_report_says_what_the_space_fixed(run_dir):
    """Before: nothing said the default space fixes DRAM bandwidth, so "every design is
    DRAM-bound" read like a finding."""
    page = render_report(run_dir)
    note = re.search(r'<p class="note" id="fixed-parameters">(.*?)</p>', page, re.S).group(1)
    assert "DRAM bandwidth 16 words/cycle" in note and "word 16 bits" in note
    assert "clock 1000 MHz" in note and "DRAM-bound share" in note and "dram_bw" in note


def test_fixed_parameters_are_the_single_choices_and_the_platform_values():
    space = {"pe_rows": [4, 8], "pe_cols": [16], "rf_words": [8, 16], "dataflow": ["ws"],
             "dram_bw": 32.0, "word_bits": 8, "clock_mhz": 500.0, "technology": None,
             "systolic": False, "custom_dataflows": {}}
    assert fixed_parameters(space) == [
        ("pe_cols", 16), ("dataflow", "ws"), ("dram_bw", 32.0), ("word_bits", 8),
        ("clock_mhz", 500.0), ("technology", None), ("systolic", False)]
    assert fixed_parameters(None) == []


def test_the_report_explains_the_hypervolume(run_dir):
    """Before: "HV" and "hypervolume" with no word on what they are measured against."""
    page = render_report(run_dir)
    run = json.loads((run_dir / "run.json").read_text())
    note = re.search(r'<p class="note" id="hypervolume-note">(.*?)</p>', page, re.S).group(1)
    assert "Hypervolume (HV)" in note and "log10 objectives" in note
    assert "reference point 1.1" in note and "1.1^3 = 1.331" in note
    lo = 10 ** run["hypervolume"]["lo_log10"][0]
    assert f"latency {lo:.4g} to" in note  # the bounds it is normalised to, in seconds


def test_layers_carry_a_readable_label(run_dir):
    data = _page_data(render_report(run_dir))
    layers = data["designs"][0]["layers"]
    assert layers[0]["label"] == "fc1"
    assert all(len(layer["label"]) <= MAX_LABEL_CHARS for layer in layers)


# -- the page as files: templates, escaping, names as data (issue 17) ------------------------

SCRIPT_INJECTION = "</script><script>alert(1)</script>"


def _templates():
    from importlib.resources import files

    return files("codesign.results") / "templates"


def test_a_layer_name_cannot_end_the_data_block(run_dir):
    """A layer named like a closing tag stays data: the page holds no second script."""
    run = read_run(run_dir)
    run["designs"][0]["layers"][0]["names"] = [SCRIPT_INJECTION]
    run["run"]["config"]["workload"] = {"path": "<i>model</i>.onnx"}
    page = generate_report(run)
    assert "<script>alert" not in page
    # every copy (the names, the label) is inside the JSON, its "<" escaped
    escaped = "\\u003cscript\\u003ealert(1)"
    assert page.count("alert(1)") == page.count(escaped) >= 1
    assert page.count("<script") == 3 and page.count("</script>") == 3
    assert _page_data(page)["designs"][0]["layers"][0]["names"] == [SCRIPT_INJECTION]
    assert "<i>model" not in page and "&lt;i&gt;model" in page   # autoescaped title


def test_css_and_script_are_inlined_from_the_package_files(run_dir):
    page = render_report(run_dir)
    for name in ("report.css", "report.js"):
        text = (_templates() / name).read_text(encoding="utf-8").strip()
        assert len(text) > 500 and text in page, name


def test_the_shipped_page_has_no_test_hook(run_dir):
    page = render_report(run_dir)
    assert "selftest" not in page and "location.hash" not in page


def test_the_names_come_from_the_modules_that_define_them():
    from codesign.cost.model import BUILTIN_OBJECTIVES, ENERGY_PARTS
    from codesign.results.explain import BOUND_NAMES, EXPLAIN_COLUMNS
    from codesign.results.pareto import HW_COLUMNS, METRIC_COLUMNS
    from codesign.results.report import page_names

    names = page_names()
    assert tuple(names["objectives"]) == BUILTIN_OBJECTIVES
    assert {o["column"] for o in names["objectives"].values()} <= set(METRIC_COLUMNS)
    assert names["hardware"] == [k for k in HW_COLUMNS if k != "dataflow"]
    assert [p["name"] for p in names["parts"]] == list(ENERGY_PARTS)
    assert [b["name"] for b in names["bounds"]] == list(BOUND_NAMES)
    assert [b["label"] for b in names["bounds"]] == ["compute", "GLB", "DRAM"]
    assert {b["share"] for b in names["bounds"]} <= set(EXPLAIN_COLUMNS)
    every = [*METRIC_COLUMNS, *EXPLAIN_COLUMNS, *names["hardware"], names["pe_count"]]
    assert all(k in names["labels"] for k in every), set(every) - set(names["labels"])


def test_the_script_spells_no_field_objective_level_or_bottleneck_name():
    """report.js reads these names from the data block: none is a key or a string in it."""
    from codesign.results.report import page_names

    script = (_templates() / "report.js").read_text(encoding="utf-8")
    names = page_names()
    spelled = [*names["hardware"], *names["text"], names["pe_count"], *names["objectives"],
               *(o["column"] for o in names["objectives"].values()),
               *(p["name"] for p in names["parts"]), *(b["name"] for b in names["bounds"]),
               *(b["label"] for b in names["bounds"]), *(b["cycles"] for b in names["bounds"]),
               *(b["share"] for b in names["bounds"]), *names["roofline"].values()]
    assert len(spelled) > 30
    found = sorted({n for n in spelled
                    if re.search(rf"""\.{re.escape(n)}\b|"{re.escape(n)}"|'{re.escape(n)}'""",
                                 script)})
    assert not found, found
