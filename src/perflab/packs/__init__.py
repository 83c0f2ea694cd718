"""Workload packs: self-contained benchmark workloads (datasets, engines, protocols) run by lab/ sessions."""
