// PNG writer: see include/PNGWrite.h
