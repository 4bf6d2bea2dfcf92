// Engine module: see README.md (architecture map).
