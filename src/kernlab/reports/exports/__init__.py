"""A ``record --functions``/``-K`` recording's call tree written for other tools: Chrome's Trace
Event Format JSON, Perfetto's protobuf, folded stacks for flame graphs."""
