// PNG encoding through libpng's full API (for text chunks), decoding through its simplified API.
// See include/PNGWrite.h.
#include "PNGWrite.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static void copy_message(char *error, size_t capacity, const char *message) {
    if (error == NULL || capacity == 0) return;
    strncpy(error, message, capacity - 1);
    error[capacity - 1] = '\0';
}

// Error handler: keep libpng's message, then jump back to the setjmp in pngwrite_encode_rgba.
typedef struct {
    char *error;
    size_t capacity;
} error_sink;

static void on_error(png_structp png, png_const_charp message) {
    error_sink *sink = (error_sink *)png_get_error_ptr(png);
    copy_message(sink->error, sink->capacity, message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void append_bytes(png_structp png, png_bytep data, size_t length) {
    pngwrite_buffer *out = (pngwrite_buffer *)png_get_io_ptr(png);
    if (out->count + length > out->capacity) {
        size_t capacity = out->capacity == 0 ? 65536 : out->capacity;
        while (capacity < out->count + length) capacity *= 2;
        unsigned char *grown = realloc(out->bytes, capacity);
        if (grown == NULL) png_error(png, "out of memory while growing the PNG buffer");
        out->bytes = grown;
        out->capacity = capacity;
    }
    memcpy(out->bytes + out->count, data, length);
    out->count += length;
}

static void flush_nothing(png_structp png) { (void)png; }

int pngwrite_encode_rgba(const uint8_t *rgba, uint32_t width, uint32_t height,
                         const pngwrite_text *texts, int text_count,
                         pngwrite_buffer *out, char *error, size_t error_capacity) {
    error_sink sink = {error, error_capacity};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
    if (png == NULL) {
        copy_message(error, error_capacity, "png_create_write_struct failed");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    // Allocated before setjmp so that a longjmp cannot leave it indeterminate.
    png_textp chunks = text_count > 0 ? calloc((size_t)text_count, sizeof(png_text)) : NULL;
    png_bytep *rows = height > 0 ? malloc(sizeof(png_bytep) * height) : NULL;
    if (info == NULL || (text_count > 0 && chunks == NULL) || (height > 0 && rows == NULL)) {
        copy_message(error, error_capacity, "out of memory before encoding the PNG");
        free(chunks);
        free(rows);
        png_destroy_write_struct(&png, info ? &info : NULL);
        return 1;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(chunks);
        free(rows);
        png_destroy_write_struct(&png, &info);
        pngwrite_buffer_free(out);
        return 1;
    }
    png_set_write_fn(png, out, append_bytes, flush_nothing);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    // Fixed zlib and filter settings: the output depends only on the pixels and the texts.
    png_set_compression_level(png, 9);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_ALL_FILTERS);
    for (int i = 0; i < text_count; i++) {
        chunks[i].compression = texts[i].international ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
        chunks[i].key = (png_charp)texts[i].keyword;
        chunks[i].text = (png_charp)texts[i].text;
        chunks[i].text_length = strlen(texts[i].text);
    }
    if (text_count > 0) png_set_text(png, info, chunks, text_count);
    for (uint32_t y = 0; y < height; y++) rows[y] = (png_bytep)(rgba + (size_t)y * width * 4);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    free(chunks);
    free(rows);
    png_destroy_write_struct(&png, &info);
    return 0;
}

void pngwrite_buffer_free(pngwrite_buffer *buffer) {
    free(buffer->bytes);
    buffer->bytes = NULL;
    buffer->count = 0;
    buffer->capacity = 0;
}

int pngwrite_decode_rgba(const uint8_t *png, size_t count,
                         uint8_t **rgba, uint32_t *width, uint32_t *height,
                         char *error, size_t error_capacity) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, png, count)) {
        copy_message(error, error_capacity, image.message);
        png_image_free(&image);
        return 1;
    }
    image.format = PNG_FORMAT_RGBA;
    uint8_t *pixels = malloc(PNG_IMAGE_SIZE(image));
    if (pixels == NULL) {
        copy_message(error, error_capacity, "out of memory while decoding the PNG");
        png_image_free(&image);
        return 1;
    }
    if (!png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
        copy_message(error, error_capacity, image.message);
        free(pixels);
        png_image_free(&image);
        return 1;
    }
    *rgba = pixels;
    *width = image.width;
    *height = image.height;
    return 0;
}
