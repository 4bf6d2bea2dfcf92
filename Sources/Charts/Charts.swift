// Charts module: see README.md (architecture map).
