"""The orchestrator, above every stage: the worker that reads journals (record/), feeds
them through the agents' targets (record -> span), redacts, spools and exports (export/),
and the cheap start the hook spawns. The only room that imports both targets and export,
besides `backfill/` above it (`staso import` drives the same targets and this worker's spool)."""
