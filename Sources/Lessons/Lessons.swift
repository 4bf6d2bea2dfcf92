// Lessons module: see README.md (architecture map).
