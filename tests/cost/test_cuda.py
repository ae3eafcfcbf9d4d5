"""The model gives the same numbers on CUDA as on the CPU (skipped without a GPU)."""

import random

import pytest
import torch
from loopnest_sim import random_case

from codesign import Accelerator
from codesign.cost.analytical import AnalyticalCostModel
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_cpu_equals_cuda():
    rng = random.Random(7)
    cases = [random_case(rng) for _ in range(24)]
    layers = [layer for layer, _ in cases]
    workload = WorkloadTensors(
        dims=torch.tensor([layer.dims for layer in layers]),
        stride=torch.tensor([layer.stride for layer in layers]),
        dilation=torch.tensor([layer.dilation for layer in layers]),
        counts=torch.arange(1, len(layers) + 1),
        vector_ops=torch.tensor([100, 7]), vector_words=torch.tensor([200, 14]))
    accs = [Accelerator(pe_rows=r, pe_cols=c, rf_words=rf, glb_bw=bw)
            for r, c, rf, bw in [(4, 4, 16, 2.0), (16, 8, 64, 32.0), (64, 64, 8, 0.5)]]
    mappings = MappingBatch.from_mappings([[m for _, m in cases]] * len(accs))
    hardware = HardwareBatch.from_accelerators(accs)
    model = AnalyticalCostModel()
    cpu = model.evaluate(hardware, workload, mappings)
    gpu = model.evaluate(hardware.to("cuda"), workload.to("cuda"), mappings.to("cuda"))
    assert gpu.cycles.device.type == "cuda"
    assert torch.equal(cpu.accesses, gpu.accesses.cpu())
    assert torch.equal(cpu.feasible, gpu.feasible.cpu())
    for name in ("cycles", "compute_cycles", "glb_cycles", "dram_cycles", "utilization",
                 "energy_pj", "capacity_excess", "area_mm2", "latency_cycles",
                 "total_energy_pj"):
        torch.testing.assert_close(getattr(gpu, name).cpu(), getattr(cpu, name),
                                   rtol=1e-12, atol=0, msg=name)
