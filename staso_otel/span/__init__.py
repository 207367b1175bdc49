"""Stage 3, record -> span: pure functions over plain data; no I/O, no OpenTelemetry."""
