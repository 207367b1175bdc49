"""Local debugging without any service: the embedded collector, the store, the viewer, the demo."""
