"""Campaigns: many explore runs (workloads x design spaces x objectives x strategies x
budgets x seeds) from one file, run here, in local processes or on Ray, gathered into one
table and one cross-job front (`sweep`)."""

from codesign.campaign.executors import LocalProcesses, RayCluster, Serial
from codesign.campaign.spec import Campaign, Job, load_campaign, parse_campaign
from codesign.campaign.sweep import SweepResult, sweep

__all__ = ["Campaign", "Job", "LocalProcesses", "RayCluster", "Serial", "SweepResult",
           "load_campaign", "parse_campaign", "sweep"]
