"""report.html in headless Chromium: the plots render, no script error, the page is not blank.

The shipped page holds no test hook: the interaction checks drive a copy of it from the
outside, a script this file appends after the page's own (`_with_probe`), whose findings
``--dump-dom`` reads back.

Needs Debian's ``chromium`` (CI installs it); skipped with a reason where it is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from codesign.results.names import MAX_LABEL_CHARS
from codesign.results.report import write_report
from codesign.workload.layer import Layer, LayerTable

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="needs headless chromium (apt-get install chromium)")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
         # offline: no host name resolves, so the page renders from its own file or not at all
         "--host-resolver-rules=MAP * ~NOTFOUND")


def _chromium(tmp_path, page, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri()],
        capture_output=True, text=True, timeout=90, cwd=tmp_path)


#: What a user does, done from outside the page's script: hover the first point, pick the
#: last x axis, select the last design by its table row; then record what the page shows
#: and every SVG label that sticks out of its plot.
PROBE = """<script>
(function () {
  var point = document.querySelector("#pareto-plot .design-point");
  var rows = document.querySelectorAll("#designs-table tbody tr");
  if (!point || !rows.length) { return; }
  var tooltip = document.getElementById("tooltip");
  point.dispatchEvent(new MouseEvent("mousemove", {clientX: 20, clientY: 20}));
  var tip = tooltip.textContent, shown = tooltip.style.display;
  var xSel = document.getElementById("x-axis");
  xSel.value = xSel.options[xSel.options.length - 1].value;
  xSel.dispatchEvent(new Event("change"));
  rows[rows.length - 1].click();
  var clipped = [];
  document.querySelectorAll("svg").forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    svg.querySelectorAll("text").forEach(function (t) {
      var r = t.getBoundingClientRect();
      if (r.width && (r.left < box.left - 1 || r.right > box.right + 1 ||
                      r.top < box.top - 1 || r.bottom > box.bottom + 1)) {
        clipped.push(svg.id + ": " + t.textContent);
      }
    });
  });
  document.body.setAttribute("data-probe", JSON.stringify({
    clipped: clipped, colour_scale: document.getElementById("c-axis").getAttribute("data-scale"),
    tooltip: tip, shown: shown, x: xSel.value,
    xlabel: document.querySelector("#pareto-plot .axes").textContent,
    selected: Number(document.getElementById("design-select").value),
    title: document.getElementById("design-title").textContent,
    points: document.querySelectorAll("#pareto-plot .design-point").length}));
})();
</script>
"""


def _with_probe(page, tmp_path):
    """A copy of ``page`` with `PROBE` run after the page's own scripts."""
    text = page.read_text(encoding="utf-8")
    assert "data-probe" not in text and text.count("</body>") == 1
    probed = tmp_path / "probed.html"
    probed.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return probed


def _probe(dom: str) -> dict:
    import html
    import json

    match = re.search(r'data-probe="([^"]*)"', dom)
    assert match, "the probe did not run"
    return json.loads(html.unescape(match.group(1)))


def _svg(dom: str, svg_id: str) -> str:
    match = re.search(rf'<svg id="{svg_id}".*?</svg>', dom, re.S)
    assert match, f"no <svg id={svg_id}> in the page"
    return match.group(0)


def _no_script_errors(run: subprocess.CompletedProcess, dom: str) -> None:
    # window.onerror writes every uncaught error into #errors and flags <body>
    assert 'data-errors="yes"' not in dom, re.search(r'<div id="errors".*?</div>', dom, re.S)
    assert re.search(r'<div id="errors" hidden="">\s*</div>', dom)
    console = [line for line in run.stderr.splitlines()
               if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real run folder (`explore` on two tiny layers) with its report written."""
    from codesign.api import explore

    table = LayerTable.from_layers([Layer.gemm(M=8, K=8, N=8, name="fc1"),
                                    Layer.conv(N=1, G=1, K=8, C=4, P=6, Q=6, R=3, S=3,
                                               name="conv</script><!--1")])
    folder = tmp_path_factory.mktemp("run")
    result = explore(table, population=6, generations=2, seed=0, out=folder, force=True,
                     plot=False)
    assert result.pareto, "the fixture run found no design"
    write_report(folder, png=False)
    return folder


@pytest.mark.slow
def test_plots_render_and_respond_without_script_errors(run_dir, tmp_path):
    """Every plot is drawn; then (`PROBE`) a hover shows the design's parameters, a new
    x axis redraws the scatter and a table row selects its design."""
    import json

    n_designs = len(json.loads((run_dir / "designs.json").read_text())["designs"])
    run = _chromium(tmp_path, _with_probe(run_dir / "report.html", tmp_path), "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert 'data-rendered="yes"' in dom, "the plotting script did not finish"
    _no_script_errors(run, dom)
    assert len(re.findall(r'class="design-point"', _svg(dom, "pareto-plot"))) == n_designs
    assert re.search(r'class="bar"', _svg(dom, "energy-plot"))
    assert len(re.findall(r'class="lower-bound"', _svg(dom, "cycles-plot"))) == 2  # 2 layers
    assert len(re.findall(r'class="layer-point"', _svg(dom, "roofline-plot"))) == 2
    assert "<polyline" in _svg(dom, "convergence-plot")
    assert dom.count("<tr>") >= 3    # layer table: a header and one row per layer
    probe = _probe(dom)
    assert probe["shown"] == "block"
    assert probe["tooltip"].startswith("design ") and "PE array" in probe["tooltip"]
    assert "latency gap" in probe["tooltip"]
    assert probe["x"] == "n_pes" and "PEs" in probe["xlabel"]   # the last x choice
    assert probe["points"] == n_designs
    last = n_designs - 1
    assert probe["selected"] == last and probe["title"].startswith(f"Design {last}:")


@pytest.mark.slow
def test_screenshot_is_not_blank(run_dir, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    run = _chromium(tmp_path, run_dir / "report.html", "--window-size=1200,1600",
                    f"--screenshot={shot}")
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    pixels = imread(shot)[..., :3].reshape(-1, 3)
    colours = {tuple(p) for p in pixels[::53]}
    assert len(colours) > 20, f"only {len(colours)} colours: a blank page?"


def test_an_empty_front_renders_without_script_errors(tmp_path):
    (tmp_path / "designs.json").write_text('{"objectives": ["latency"], "designs": []}')
    write_report(tmp_path, png=False)
    run = _chromium(tmp_path, tmp_path / "report.html", "--dump-dom")
    assert 'data-rendered="yes"' in run.stdout
    _no_script_errors(run, run.stdout)
    assert "no feasible design in this run" in _svg(run.stdout, "pareto-plot")


@pytest.fixture(scope="module")
def long_names_run(tmp_path_factory):
    """A run whose layers carry the node names real exporters write (module paths with
    the op type; a 60-character name; a unique layer standing for 12 blocks)."""
    from codesign.api import explore

    blocks = [Layer.gemm(M=16, K=32, N=32, name=f"/encoder/layers.{i}/self_attention/q/MatMul")
              for i in range(12)]
    table = LayerTable.from_layers([
        Layer.conv(N=1, G=1, K=8, C=4, P=6, Q=6, R=3, S=3, name="/conv_proj/Conv"),
        *blocks,
        Layer.gemm(M=4, K=32, N=10, name="/heads/head/" + "very_long_module_name_" * 3
                   + "/Gemm")])
    folder = tmp_path_factory.mktemp("long")
    result = explore(table, population=6, generations=2, seed=0, out=folder, force=True,
                     plot=False)
    assert result.pareto, "the fixture run found no design"
    write_report(folder, png=False)
    return folder


@pytest.mark.slow
def test_layer_names_are_readable_no_label_is_clipped_and_colour_is_log(long_names_run,
                                                                       tmp_path):
    """Before: raw node names as axis labels, rotated off the plot's left and bottom edges,
    and a linear colour scale on which every design had the same colour."""
    run = _chromium(tmp_path, _with_probe(long_names_run / "report.html", tmp_path),
                    "--dump-dom")
    dom = run.stdout
    _no_script_errors(run, dom)
    probe = _probe(dom)
    assert probe["clipped"] == []
    assert probe["colour_scale"] == "log"
    labels = re.findall(r'<text[^>]*class="layer-label"[^>]*>([^<]*)</text>',
                        _svg(dom, "energy-plot"))
    assert labels[0] == "conv_proj"
    assert labels[1].startswith("encoder.layers.*") and labels[1].endswith("×12")
    assert all(len(label) <= MAX_LABEL_CHARS and "/" not in label for label in labels), labels
