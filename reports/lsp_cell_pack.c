/* lsp_cell_pack.c — a cell result to and from bytes (lsp_cell.h, DESIGN
 * §9.1): "LSPCELL3", then every field as a little-endian 64-bit word (a
 * double as its IEEE-754 bits, so it round-trips exactly; an integer as an
 * unsigned value), the architecture as 4096 bytes, then the FNV-1a 64-bit
 * checksum of all bytes before it. Format 3 = format 2 (13 summaries) and,
 * after the resamples, calib_ci and the 13 (ci_lo, ci_hi) pairs; format 2
 * is still read (calib_ci = 0), format 1 (11 summaries) is refused. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_bytes.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/data/lsp_data.h"
#include "reports/lsp_cell_int.h"

static const char magic[8] = {'L', 'S', 'P', 'C', 'E', 'L', 'L', '3'};

/* fixed words before the resamples: key (eps, seed), cached, 3 seconds,
 * n_test, n_attack, n_aa, n_attack_eps, 5 curves of 32, temperature,
 * 2 mask counts, the values, B */
#define FIXED_WORDS (2 + 1 + 3 + 4 + 5 * LSP_CELL_MAX_ATTACK_EPS + 1 + 2 + LSP_CELL_NSTAT + 1)
#define ARCH_BYTES LSP_CELL_ARCH_MAX
/* format 3's words after the resamples: calib_ci, then ci_lo and ci_hi */
#define CI_WORDS (1 + 2 * LSP_CELL_NSTAT)

int lsp_cell_result_pack(const lsp_cell_result *r, uint8_t **buf, size_t *len) {
  *buf = NULL;
  *len = 0;
  if (r->B > LSP_CELL_MAX_B || (r->B && !r->resample))
    return lsp_fail(LSP_EINVAL, "cell result: bad resample count %zu", r->B);
  size_t n = sizeof magic + ARCH_BYTES + 8 * (FIXED_WORDS + r->B * LSP_CELL_NSTAT + CI_WORDS) + 8;
  lsp_wbuf w = {malloc(n), 0};
  if (!w.p) return lsp_fail(LSP_ENOMEM, "out of memory");
  char arch[ARCH_BYTES] = {0};
  memcpy(arch, r->key.arch, strnlen(r->key.arch, ARCH_BYTES - 1));
  lsp_put_bytes(&w, magic, sizeof magic);
  lsp_put_bytes(&w, arch, ARCH_BYTES);
  lsp_put_f64(&w, r->key.eps);
  lsp_put_u64(&w, r->key.seed);
  lsp_put_u64(&w, (uint64_t)r->cached);
  lsp_put_f64(&w, r->seconds_train);
  lsp_put_f64(&w, r->seconds_analysis);
  lsp_put_f64(&w, r->seconds_attacks);
  lsp_put_u64(&w, r->n_test);
  lsp_put_u64(&w, r->n_attack);
  lsp_put_u64(&w, r->n_aa);
  lsp_put_u64(&w, r->n_attack_eps);
  const double *curves[5] = {r->attack_eps, r->fgsm, r->pgd, r->transfer, r->aa};
  for (int c = 0; c < 5; c++)
    for (size_t e = 0; e < LSP_CELL_MAX_ATTACK_EPS; e++) lsp_put_f64(&w, curves[c][e]);
  lsp_put_f64(&w, r->temperature);
  lsp_put_u64(&w, (uint64_t)(int64_t)r->mask_flags);
  lsp_put_u64(&w, (uint64_t)(int64_t)r->mask_checks);
  for (int s = 0; s < LSP_CELL_NSTAT; s++) lsp_put_f64(&w, r->value[s]);
  lsp_put_u64(&w, r->B);
  for (size_t i = 0; i < r->B * LSP_CELL_NSTAT; i++) lsp_put_f64(&w, r->resample[i]);
  lsp_put_u64(&w, (uint64_t)(r->calib_ci != 0));
  for (int s = 0; s < LSP_CELL_NSTAT; s++) {
    lsp_put_f64(&w, r->ci_lo[s]);
    lsp_put_f64(&w, r->ci_hi[s]);
  }
  lsp_put_u64(&w, lsp_fnv1a(LSP_CELL_FNV_BASIS, w.p, w.len));
  *buf = w.p;
  *len = w.len;
  return LSP_OK;
}

int lsp_cell_result_unpack(const uint8_t *buf, size_t len, lsp_cell_result *r) {
  memset(r, 0, sizeof *r);
  const size_t head = sizeof magic + ARCH_BYTES + 8 * FIXED_WORDS;
  if (buf && len >= sizeof magic && memcmp(buf, magic, sizeof magic - 1) == 0 &&
      buf[sizeof magic - 1] == '1')
    return lsp_fail(LSP_EDATA, "cell result of format 1 (11 summaries): rerun the cell");
  if (!buf || len < head + 8 || memcmp(buf, magic, sizeof magic - 1) != 0 ||
      (buf[sizeof magic - 1] != '2' && buf[sizeof magic - 1] != '3'))
    return lsp_fail(LSP_EDATA, "not a cell result (%zu bytes, no LSPCELL3 or LSPCELL2 header)",
                    len);
  const size_t ci_words = buf[sizeof magic - 1] == '3' ? CI_WORDS : 0;
  lsp_rbuf q = {buf, len, head - 8, 0};
  uint64_t B = lsp_get_u64(&q);
  if (B > LSP_CELL_MAX_B || len != head + 8 * (B * LSP_CELL_NSTAT + ci_words) + 8)
    return lsp_fail(LSP_EDATA, "cell result: %zu bytes do not match its %llu resamples", len,
                    (unsigned long long)B);
  lsp_rbuf ck = {buf, len, len - 8, 0};
  if (lsp_get_u64(&ck) != lsp_fnv1a(LSP_CELL_FNV_BASIS, buf, len - 8))
    return lsp_fail(LSP_EDATA, "cell result: checksum mismatch (corrupt)");
  /* every read below is inside the length checked above */
  lsp_rbuf rd = {buf, len, sizeof magic, 0};
  const unsigned char *arch = lsp_take(&rd, ARCH_BYTES);
  if (memchr(arch, 0, ARCH_BYTES) == NULL)
    return lsp_fail(LSP_EDATA, "cell result: unterminated architecture");
  memcpy(r->key.arch, arch, ARCH_BYTES);
  r->key.eps = lsp_get_f64(&rd);
  r->key.seed = (unsigned long)lsp_get_u64(&rd);
  r->cached = (int)lsp_get_u64(&rd);
  r->seconds_train = lsp_get_f64(&rd);
  r->seconds_analysis = lsp_get_f64(&rd);
  r->seconds_attacks = lsp_get_f64(&rd);
  r->n_test = (size_t)lsp_get_u64(&rd);
  r->n_attack = (size_t)lsp_get_u64(&rd);
  r->n_aa = (size_t)lsp_get_u64(&rd);
  r->n_attack_eps = (size_t)lsp_get_u64(&rd);
  if (r->n_attack_eps > LSP_CELL_MAX_ATTACK_EPS)
    return lsp_fail(LSP_EDATA, "cell result: %zu attack eps values", r->n_attack_eps);
  double *curves[5] = {r->attack_eps, r->fgsm, r->pgd, r->transfer, r->aa};
  for (int c = 0; c < 5; c++)
    for (size_t e = 0; e < LSP_CELL_MAX_ATTACK_EPS; e++) curves[c][e] = lsp_get_f64(&rd);
  r->temperature = lsp_get_f64(&rd);
  r->mask_flags = (int)(int64_t)lsp_get_u64(&rd);
  r->mask_checks = (int)(int64_t)lsp_get_u64(&rd);
  for (int s = 0; s < LSP_CELL_NSTAT; s++) r->value[s] = lsp_get_f64(&rd);
  r->B = (size_t)lsp_get_u64(&rd);
  if (r->B) {
    r->resample = malloc(r->B * LSP_CELL_NSTAT * sizeof(double));
    if (!r->resample) return lsp_fail(LSP_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->B * LSP_CELL_NSTAT; i++) r->resample[i] = lsp_get_f64(&rd);
  }
  /* format 2 has no stored intervals: the calibration errors' are unknown */
  r->calib_ci = ci_words ? lsp_get_u64(&rd) != 0 : 0;
  for (int s = 0; s < LSP_CELL_NSTAT; s++) {
    r->ci_lo[s] = ci_words ? lsp_get_f64(&rd) : NAN;
    r->ci_hi[s] = ci_words ? lsp_get_f64(&rd) : NAN;
  }
  lsp_cell_center_clusters(r); /* a file written before the centring */
  lsp_cell_unfitted_t(r);       /* a file written before ECE_T was left unmeasured */
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
  if (wr != len) return lsp_out_write_failed(&o);
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
