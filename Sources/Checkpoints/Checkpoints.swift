// Checkpoints module: see README.md (architecture map).
