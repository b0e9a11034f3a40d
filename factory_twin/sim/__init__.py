"""Discrete-event simulation of a plant (SimPy), headless or stepped.

Modules
-------
model
    :class:`~factory_twin.sim.model.FabModel`, the model built from any ``PlantSpec``.
queues
    Dispatch queues: heaps keyed per rule, batch forming.
rng
    Named random streams derived from one scenario seed (common random numbers).
records
    Flat records and their DataFrames / Parquet files.
kpi
    KPIs of one run (throughput, cycle time, X-factor, WIP, E10 states, OEE, bottleneck).
stats
    t confidence intervals, MSER-5 warm-up, paired differences.
runner
    Replications on local processes or a Dask cluster; scenario comparison.
live
    :class:`~factory_twin.sim.live.LiveSimulation`, the stepped mode for the plant server.
report
    Text tables of results.
"""

from __future__ import annotations
