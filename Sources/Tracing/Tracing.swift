// Tracing module: see README.md (architecture map).
