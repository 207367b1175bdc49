"""Stage 4, span -> export: spool, OTLP sender and the worker; the only stage that imports
the OpenTelemetry SDK (with api/ and local/)."""
