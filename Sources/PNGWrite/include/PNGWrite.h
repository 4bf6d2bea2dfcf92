// PNGWrite: encode and decode 8-bit RGBA PNG images in memory with libpng.
//
// libpng's full API (needed for tEXt/iTXt chunks: png_set_text) reports errors by longjmp, which Swift
// cannot catch; these functions wrap it in setjmp and return an error message instead.
#pragma once

#include <stddef.h>
#include <stdint.h>

/// One textual chunk. `keyword` is 1–79 Latin-1 bytes (PNG spec §11.3.4). With `international == 0`
/// `text` holds Latin-1 bytes and is written as tEXt; with `international != 0` it holds UTF-8 and is
/// written as an uncompressed iTXt chunk.
typedef struct {
    const char *keyword;
    const char *text;
    int international;
} pngwrite_text;

/// A growable byte buffer owned by the caller; release with `pngwrite_buffer_free`.
typedef struct {
    unsigned char *bytes;
    size_t count;
    size_t capacity;
} pngwrite_buffer;

/// Encodes `rgba` ([height, width, 4] bytes, row-major, non-premultiplied RGBA, 8 bits per channel) as a
/// PNG into `out` (which must start zeroed), with the given text chunks and no tIME chunk, at zlib level 9
/// with fixed filter choice, so the same pixels and texts give the same bytes.
/// Returns 0 on success; otherwise a non-zero value with libpng's message copied into `error`.
int pngwrite_encode_rgba(const uint8_t *rgba, uint32_t width, uint32_t height,
                         const pngwrite_text *texts, int text_count,
                         pngwrite_buffer *out, char *error, size_t error_capacity);

/// Frees the bytes of a buffer filled by `pngwrite_encode_rgba` and zeroes it.
void pngwrite_buffer_free(pngwrite_buffer *buffer);

/// Decodes any PNG in memory to 8-bit non-premultiplied RGBA with libpng's simplified read API.
/// On success returns 0 and sets `*rgba` (malloc'd, [height, width, 4] bytes; release with free()),
/// `*width` and `*height`; otherwise returns non-zero with libpng's message copied into `error`.
int pngwrite_decode_rgba(const uint8_t *png, size_t count,
                         uint8_t **rgba, uint32_t *width, uint32_t *height,
                         char *error, size_t error_capacity);
