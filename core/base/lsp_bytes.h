/* lsp_bytes.h — little-endian encoding and bounded decoding of the
 * project's binary files and messages (internal: core/nn's model files,
 * reports' cell results and the run's cell blobs).
 *
 * A writer with p == NULL only counts, so a file is encoded in two passes:
 * measure, allocate once, write. A reader never reads past its end: a short
 * read sets short_read and yields zeros, to be checked once afterwards. */
#ifndef LSP_BYTES_H
#define LSP_BYTES_H

#include <stdint.h>
#include <string.h>

typedef struct {
  unsigned char *p; /* NULL: count only */
  size_t len;
} lsp_wbuf;

static inline void lsp_put_bytes(lsp_wbuf *b, const void *src, size_t n) {
  if (b->p) memcpy(b->p + b->len, src, n);
  b->len += n;
}
static inline void lsp_put_u32(lsp_wbuf *b, uint32_t v) {
  unsigned char c[4];
  for (int i = 0; i < 4; i++) c[i] = (unsigned char)(v >> (8 * i));
  lsp_put_bytes(b, c, 4);
}
static inline void lsp_put_u64(lsp_wbuf *b, uint64_t v) {
  unsigned char c[8];
  for (int i = 0; i < 8; i++) c[i] = (unsigned char)(v >> (8 * i));
  lsp_put_bytes(b, c, 8);
}
static inline void lsp_put_f32(lsp_wbuf *b, float x) {
  uint32_t v;
  memcpy(&v, &x, 4);
  lsp_put_u32(b, v);
}
static inline void lsp_put_f64(lsp_wbuf *b, double x) {
  uint64_t v;
  memcpy(&v, &x, 8);
  lsp_put_u64(b, v);
}

typedef struct {
  const unsigned char *p;
  size_t len, pos;
  int short_read; /* set when a read ran past the end */
} lsp_rbuf;

static inline const unsigned char *lsp_take(lsp_rbuf *r, size_t n) {
  if (r->short_read || r->len - r->pos < n) {
    r->short_read = 1;
    return NULL;
  }
  const unsigned char *s = r->p + r->pos;
  r->pos += n;
  return s;
}
static inline uint32_t lsp_get_u32(lsp_rbuf *r) {
  const unsigned char *c = lsp_take(r, 4);
  uint32_t v = 0;
  if (c)
    for (int i = 0; i < 4; i++) v |= (uint32_t)c[i] << (8 * i);
  return v;
}
static inline uint64_t lsp_get_u64(lsp_rbuf *r) {
  const unsigned char *c = lsp_take(r, 8);
  uint64_t v = 0;
  if (c)
    for (int i = 0; i < 8; i++) v |= (uint64_t)c[i] << (8 * i);
  return v;
}
static inline float lsp_get_f32(lsp_rbuf *r) {
  uint32_t v = lsp_get_u32(r);
  float x;
  memcpy(&x, &v, 4);
  return x;
}
static inline double lsp_get_f64(lsp_rbuf *r) {
  uint64_t v = lsp_get_u64(r);
  double x;
  memcpy(&x, &v, 8);
  return x;
}

#endif
