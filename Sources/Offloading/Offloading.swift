// Offloading module: see README.md (architecture map).
