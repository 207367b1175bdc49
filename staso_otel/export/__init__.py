"""Stage 4, span -> export: spool and OTLP sender; the only stage that imports the
OpenTelemetry SDK (with api/ and local/). It knows nothing of agents: the orchestrator
that feeds it from targets is pipeline/."""
