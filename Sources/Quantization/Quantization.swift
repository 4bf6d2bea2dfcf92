// Quantization module: see README.md (architecture map).
