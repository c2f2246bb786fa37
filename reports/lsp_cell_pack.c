/* lsp_cell_pack.c — a cell result to and from bytes (lsp_cell.h, DESIGN
 * §9.1): "LSPCELL2" (format 2: 13 summaries; format 1 had 11), then every field as a little-endian 64-bit word (a
 * double as its IEEE-754 bits, so it round-trips exactly; an integer as an
 * unsigned value), the architecture as 4096 bytes, then the FNV-1a 64-bit
 * checksum of all bytes before it. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_cell_int.h"

static const char magic[8] = {'L', 'S', 'P', 'C', 'E', 'L', 'L', '2'};

/* fixed words before the resamples: key (eps, seed), cached, 3 seconds,
 * n_test, n_attack, n_aa, n_attack_eps, 5 curves of 32, temperature,
 * 2 mask counts, the values, B */
#define FIXED_WORDS (2 + 1 + 3 + 4 + 5 * LSP_CELL_MAX_ATTACK_EPS + 1 + 2 + LSP_CELL_NSTAT + 1)
#define ARCH_BYTES LSP_CELL_ARCH_MAX

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

typedef struct {
  uint8_t *p;
  size_t at;
} writer;

static void put_u64(writer *w, uint64_t v) {
  for (int i = 0; i < 8; i++) w->p[w->at++] = (uint8_t)(v >> (8 * i));
}
static void put_f64(writer *w, double d) {
  uint64_t v;
  memcpy(&v, &d, sizeof v);
  put_u64(w, v);
}

typedef struct {
  const uint8_t *p;
  size_t at;
} reader;

static uint64_t get_u64(reader *r) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)r->p[r->at++] << (8 * i);
  return v;
}
static double get_f64(reader *r) {
  uint64_t v = get_u64(r);
  double d;
  memcpy(&d, &v, sizeof d);
  return d;
}

int lsp_cell_result_pack(const lsp_cell_result *r, uint8_t **buf, size_t *len) {
  *buf = NULL;
  *len = 0;
  if (r->B > LSP_CELL_MAX_B || (r->B && !r->resample))
    return lsp_fail(LSP_EINVAL, "cell result: bad resample count %zu", r->B);
  size_t n = sizeof magic + ARCH_BYTES + 8 * (FIXED_WORDS + r->B * LSP_CELL_NSTAT) + 8;
  writer w = {malloc(n), 0};
  if (!w.p) return lsp_fail(LSP_ENOMEM, "out of memory");
  memcpy(w.p, magic, sizeof magic);
  w.at = sizeof magic;
  memset(w.p + w.at, 0, ARCH_BYTES);
  memcpy(w.p + w.at, r->key.arch, strnlen(r->key.arch, ARCH_BYTES - 1));
  w.at += ARCH_BYTES;
  put_f64(&w, r->key.eps);
  put_u64(&w, r->key.seed);
  put_u64(&w, (uint64_t)r->cached);
  put_f64(&w, r->seconds_train);
  put_f64(&w, r->seconds_analysis);
  put_f64(&w, r->seconds_attacks);
  put_u64(&w, r->n_test);
  put_u64(&w, r->n_attack);
  put_u64(&w, r->n_aa);
  put_u64(&w, r->n_attack_eps);
  const double *curves[5] = {r->attack_eps, r->fgsm, r->pgd, r->transfer, r->aa};
  for (int c = 0; c < 5; c++)
    for (size_t e = 0; e < LSP_CELL_MAX_ATTACK_EPS; e++) put_f64(&w, curves[c][e]);
  put_f64(&w, r->temperature);
  put_u64(&w, (uint64_t)(int64_t)r->mask_flags);
  put_u64(&w, (uint64_t)(int64_t)r->mask_checks);
  for (int s = 0; s < LSP_CELL_NSTAT; s++) put_f64(&w, r->value[s]);
  put_u64(&w, r->B);
  for (size_t i = 0; i < r->B * LSP_CELL_NSTAT; i++) put_f64(&w, r->resample[i]);
  put_u64(&w, fnv1a(w.p, w.at));
  *buf = w.p;
  *len = w.at;
  return LSP_OK;
}

int lsp_cell_result_unpack(const uint8_t *buf, size_t len, lsp_cell_result *r) {
  memset(r, 0, sizeof *r);
  const size_t head = sizeof magic + ARCH_BYTES + 8 * FIXED_WORDS;
  if (buf && len >= sizeof magic && memcmp(buf, magic, sizeof magic - 1) == 0 &&
      buf[sizeof magic - 1] == '1')
    return lsp_fail(LSP_EDATA, "cell result of format 1 (11 summaries): rerun the cell");
  if (!buf || len < head + 8 || memcmp(buf, magic, sizeof magic) != 0)
    return lsp_fail(LSP_EDATA, "not a cell result (%zu bytes, no LSPCELL2 header)", len);
  reader q = {buf, head - 8};
  uint64_t B = get_u64(&q);
  if (B > LSP_CELL_MAX_B || len != head + 8 * B * LSP_CELL_NSTAT + 8)
    return lsp_fail(LSP_EDATA, "cell result: %zu bytes do not match its %llu resamples", len,
                    (unsigned long long)B);
  reader ck = {buf, len - 8};
  if (get_u64(&ck) != fnv1a(buf, len - 8))
    return lsp_fail(LSP_EDATA, "cell result: checksum mismatch (corrupt)");
  reader rd = {buf, sizeof magic};
  if (memchr(buf + rd.at, 0, ARCH_BYTES) == NULL)
    return lsp_fail(LSP_EDATA, "cell result: unterminated architecture");
  memcpy(r->key.arch, buf + rd.at, ARCH_BYTES);
  rd.at += ARCH_BYTES;
  r->key.eps = get_f64(&rd);
  r->key.seed = (unsigned long)get_u64(&rd);
  r->cached = (int)get_u64(&rd);
  r->seconds_train = get_f64(&rd);
  r->seconds_analysis = get_f64(&rd);
  r->seconds_attacks = get_f64(&rd);
  r->n_test = (size_t)get_u64(&rd);
  r->n_attack = (size_t)get_u64(&rd);
  r->n_aa = (size_t)get_u64(&rd);
  r->n_attack_eps = (size_t)get_u64(&rd);
  if (r->n_attack_eps > LSP_CELL_MAX_ATTACK_EPS)
    return lsp_fail(LSP_EDATA, "cell result: %zu attack eps values", r->n_attack_eps);
  double *curves[5] = {r->attack_eps, r->fgsm, r->pgd, r->transfer, r->aa};
  for (int c = 0; c < 5; c++)
    for (size_t e = 0; e < LSP_CELL_MAX_ATTACK_EPS; e++) curves[c][e] = get_f64(&rd);
  r->temperature = get_f64(&rd);
  r->mask_flags = (int)(int64_t)get_u64(&rd);
  r->mask_checks = (int)(int64_t)get_u64(&rd);
  for (int s = 0; s < LSP_CELL_NSTAT; s++) r->value[s] = get_f64(&rd);
  r->B = (size_t)get_u64(&rd);
  if (r->B) {
    r->resample = malloc(r->B * LSP_CELL_NSTAT * sizeof(double));
    if (!r->resample) return lsp_fail(LSP_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->B * LSP_CELL_NSTAT; i++) r->resample[i] = get_f64(&rd);
  }
  return LSP_OK;
}

int lsp_cell_result_write(const lsp_cell_result *r, const char *path) {
  uint8_t *buf;
  size_t len;
  int st = lsp_cell_result_pack(r, &buf, &len);
  if (st) return st;
  lsp_outfile o;
  if ((st = lsp_out_open(&o, path))) {
    free(buf);
    return st;
  }
  size_t wr = fwrite(buf, 1, len, o.fp);
  free(buf);
  if (wr != len) {
    lsp_out_abort(&o);
    return lsp_fail(LSP_EIO, "%s: write failed", path);
  }
  return lsp_out_commit(&o);
}

int lsp_cell_result_read(const char *path, lsp_cell_result *r) {
  memset(r, 0, sizeof *r);
  FILE *f = fopen(path, "rb");
  if (!f) return lsp_fail(LSP_EIO, "%s: cannot open", path);
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  int st = buf ? LSP_OK : lsp_fail(LSP_ENOMEM, "out of memory");
  while (!st) {
    if (n == cap) {
      if (cap > (size_t)64 << 20) {
        st = lsp_fail(LSP_EDATA, "%s: too large for a cell result", path);
        break;
      }
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        st = lsp_fail(LSP_ENOMEM, "out of memory");
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) st = lsp_fail(LSP_EIO, "%s: read failed", path);
      break;
    }
  }
  fclose(f);
  if (!st && (st = lsp_cell_result_unpack(buf, n, r))) lsp_fail_prefix(st, path);
  free(buf);
  return st;
}
