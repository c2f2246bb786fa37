/* lsp_model_record.c — the training record's file encoding (lsp_model.h):
 * typed, named fields driven by one table, so that the writer, the reader,
 * the settings comparison and the cache's canonical bytes cannot disagree
 * about which fields exist and which of them determine the weights.
 *
 * A field is { u8 type, u8 name length, name, value }: type 'u' is a u64,
 * 'f' an f64 (IEEE bits), 's' a u32 byte count and the bytes (no NUL). All
 * little-endian. The writer emits the table's fields in table order; the
 * distillation fields only for a distilled model (so a model trained on
 * hard labels has the record, and the cache key, it always had). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "core/nn/lsp_model.h"

typedef struct {
  const char *name;
  char type;   /* 'u', 'f', 's' */
  int setting; /* 1: determines the weights (compared, hashed) */
  int distill; /* 1: present exactly when the model is distilled */
} field;

/* The order is the file order; append new fields at the end of their group. */
static const field k_fields[] = {
    {"code_version", 'u', 1, 0}, {"smoothing", 'f', 1, 0},    {"convention", 's', 1, 0},
    {"normalize", 'u', 1, 0},    {"seed", 'u', 1, 0},         {"epochs", 'u', 1, 0},
    {"batch", 'u', 1, 0},        {"shares", 'u', 1, 0},       {"optimizer", 's', 1, 0},
    {"lr", 'f', 1, 0},           {"momentum", 'f', 1, 0},     {"weight_decay", 'f', 1, 0},
    {"schedule", 's', 1, 0},     {"data_hash", 'u', 1, 0},    {"split_seed", 'u', 1, 0},
    {"n_train", 'u', 1, 0},      {"n_val", 'u', 1, 0},        {"val_hash", 'u', 1, 0},
    {"data", 's', 0, 0},         {"cpu_path", 's', 0, 0},     {"blas_core", 's', 0, 0},
    {"val_accuracy", 'f', 0, 0},
    {"distill_alpha", 'f', 1, 1}, {"distill_temperature", 'f', 1, 1},
    {"teacher_logits_hash", 'u', 1, 1},
};
enum { NFIELDS = sizeof k_fields / sizeof k_fields[0] };

typedef struct {
  uint64_t u;
  double f;
  const char *s;
} value;

static value get(const lsp_model_meta *r, int i) {
  value v = {0, 0.0, ""};
  switch (i) {
    case 0: v.u = r->code_version; break;
    case 1: v.f = r->smoothing.eps; break;
    case 2: v.s = lsp_ls_convention_name(r->smoothing.convention); break;
    case 3: v.u = (uint64_t)(r->smoothing.normalize != 0); break;
    case 4: v.u = (uint64_t)r->seed; break;
    case 5: v.u = (uint64_t)r->epochs; break;
    case 6: v.u = (uint64_t)r->batch; break;
    case 7: v.u = (uint64_t)r->shares; break;
    case 8: v.s = r->adam ? "adam" : "sgd"; break;
    case 9: v.f = r->lr; break;
    case 10: v.f = r->momentum; break;
    case 11: v.f = r->weight_decay; break;
    case 12: v.s = r->cosine ? "cosine" : "constant"; break;
    case 13: v.u = r->data_hash; break;
    case 14: v.u = (uint64_t)r->split_seed; break;
    case 15: v.u = r->n_train; break;
    case 16: v.u = r->n_val; break;
    case 17: v.u = r->val_hash; break;
    case 18: v.s = r->data; break;
    case 19: v.s = r->cpu_path; break;
    case 20: v.s = r->blas_core; break;
    case 21: v.f = r->val_accuracy; break;
    case 22: v.f = r->distill_alpha; break;
    case 23: v.f = r->distill_temperature; break;
    case 24: v.u = r->teacher_hash; break;
  }
  return v;
}

/* Store field i; 0 on success, else a short reason. */
static const char *set(lsp_model_meta *r, int i, const value *v, size_t slen) {
  const uint64_t big = 2147483647u;
  switch (i) {
    case 0:
      if (v->u > big) return "out of range";
      r->code_version = (unsigned)v->u;
      return NULL;
    case 1:
      if (!(v->f >= 0.0 && v->f <= 1.0)) return "not in [0, 1]";
      r->smoothing.eps = v->f;
      return NULL;
    case 2:
      if (slen == (size_t)-1 || lsp_ls_convention_parse(v->s, &r->smoothing.convention))
        return "unknown";
      return NULL;
    case 3:
      if (v->u > 1) return "not 0 or 1";
      r->smoothing.normalize = (int)v->u;
      return NULL;
    case 4:
      if (v->u > (uint64_t)(unsigned long)-1) return "out of range";
      r->seed = (unsigned long)v->u;
      return NULL;
    case 5:
    case 6:
    case 7: /* shares 0: a model from before fixed shares (format 1) */
      if (v->u < (i == 7 ? 0u : 1u) || v->u > big) return "out of range";
      *(i == 5 ? &r->epochs : i == 6 ? &r->batch : &r->shares) = (int)v->u;
      return NULL;
    case 8:
      if (slen == (size_t)-1 || (strcmp(v->s, "sgd") && strcmp(v->s, "adam")))
        return "not sgd or adam";
      r->adam = strcmp(v->s, "adam") == 0;
      return NULL;
    case 9:
    case 10:
    case 11:
      if (!isfinite(v->f) || v->f < 0.0) return "not a finite non-negative number";
      *(i == 9 ? &r->lr : i == 10 ? &r->momentum : &r->weight_decay) = v->f;
      return NULL;
    case 12:
      if (slen == (size_t)-1 || (strcmp(v->s, "constant") && strcmp(v->s, "cosine")))
        return "not constant or cosine";
      r->cosine = strcmp(v->s, "cosine") == 0;
      return NULL;
    case 13: r->data_hash = v->u; return NULL;
    case 14:
      if (v->u > (uint64_t)(unsigned long)-1) return "out of range";
      r->split_seed = (unsigned long)v->u;
      return NULL;
    case 15: r->n_train = v->u; return NULL;
    case 16: r->n_val = v->u; return NULL;
    case 17: r->val_hash = v->u; return NULL;
    case 18:
    case 19:
    case 20: {
      char *dst = i == 18 ? r->data : i == 19 ? r->cpu_path : r->blas_core;
      size_t cap = i == 18 ? sizeof r->data : i == 19 ? sizeof r->cpu_path : sizeof r->blas_core;
      if (slen >= cap) return "too long or holds a NUL byte";
      memcpy(dst, v->s, slen);
      dst[slen] = '\0';
      return NULL;
    }
    case 21: r->val_accuracy = v->f; return NULL;
    case 22:
      if (!(v->f >= 0.0 && v->f <= 1.0)) return "not in [0, 1]";
      r->distill_alpha = v->f;
      r->distilled = 1;
      return NULL;
    case 23:
      if (!(v->f > 0.0) || !isfinite(v->f)) return "not a positive finite number";
      r->distill_temperature = v->f;
      r->distilled = 1;
      return NULL;
    case 24:
      r->teacher_hash = v->u;
      r->distilled = 1;
      return NULL;
  }
  return "unknown";
}

/* ---- writing ---------------------------------------------------------------- */

typedef struct {
  unsigned char *p;
  size_t len, cap;
  int oom;
} buf;

static void put(buf *b, const void *src, size_t n) {
  if (b->oom) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    unsigned char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void put_le(buf *b, uint64_t v, int bytes) {
  unsigned char c[8];
  for (int i = 0; i < bytes; i++) c[i] = (unsigned char)(v >> (8 * i));
  put(b, c, (size_t)bytes);
}

int lsp_model_record_encode(const lsp_model_meta *r, int settings_only,
                            unsigned char **out, size_t *len) {
  buf b = {NULL, 0, 0, 0};
  uint32_t n = 0;
  if (r->trained)
    for (int i = 0; i < NFIELDS; i++)
      n += (!settings_only || k_fields[i].setting) && (!k_fields[i].distill || r->distilled);
  put_le(&b, n, 4);
  for (int i = 0; i < NFIELDS && n; i++) {
    const field *f = &k_fields[i];
    if (settings_only && !f->setting) continue;
    if (f->distill && !r->distilled) continue;
    value v = get(r, i);
    size_t nl = strlen(f->name);
    put_le(&b, (uint64_t)(unsigned char)f->type, 1);
    put_le(&b, nl, 1);
    put(&b, f->name, nl);
    if (f->type == 'u') {
      put_le(&b, v.u, 8);
    } else if (f->type == 'f') {
      uint64_t bits;
      memcpy(&bits, &v.f, 8);
      put_le(&b, bits, 8);
    } else {
      size_t sl = strlen(v.s);
      put_le(&b, sl, 4);
      put(&b, v.s, sl);
    }
  }
  if (b.oom) {
    free(b.p);
    return lsp_fail(LSP_ENOMEM, "out of memory for the training record");
  }
  *out = b.p;
  *len = b.len;
  return LSP_OK;
}

/* ---- reading ---------------------------------------------------------------- */

static int take(const unsigned char *p, size_t len, size_t *pos, size_t n,
                const unsigned char **at) {
  if (len - *pos < n) return 0;
  *at = p + *pos;
  *pos += n;
  return 1;
}

static uint64_t le(const unsigned char *c, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v |= (uint64_t)c[i] << (8 * i);
  return v;
}

int lsp_model_record_decode(const unsigned char *p, size_t len,
                            lsp_model_meta *r, const char *path) {
  memset(r, 0, sizeof *r);
  r->val_accuracy = NAN;
  size_t pos = 0;
  const unsigned char *c;
  if (!take(p, len, &pos, 4, &c))
    return lsp_fail(LSP_EDATA, "%s: truncated (in the training record)", path);
  uint64_t n = le(c, 4);
  int seen[NFIELDS] = {0};
  for (uint64_t k = 0; k < n; k++) {
    if (!take(p, len, &pos, 2, &c))
      return lsp_fail(LSP_EDATA, "%s: truncated (in the training record)", path);
    char type = (char)c[0];
    size_t nl = c[1];
    const unsigned char *name;
    if (!take(p, len, &pos, nl, &name))
      return lsp_fail(LSP_EDATA, "%s: truncated (in the training record)", path);
    char nm[256];
    memcpy(nm, name, nl);
    nm[nl] = '\0';
    value v = {0, 0.0, ""};
    size_t slen = 0;
    char sbuf[256];
    if (type == 'u' || type == 'f') {
      if (!take(p, len, &pos, 8, &c))
        return lsp_fail(LSP_EDATA, "%s: truncated (training record field %s)", path, nm);
      v.u = le(c, 8);
      memcpy(&v.f, &v.u, 8);
    } else if (type == 's') {
      const unsigned char *lc;
      if (!take(p, len, &pos, 4, &lc) || !take(p, len, &pos, (size_t)le(lc, 4), &c))
        return lsp_fail(LSP_EDATA, "%s: truncated (training record field %s)", path, nm);
      slen = (size_t)le(lc, 4);
      size_t keep = slen < sizeof sbuf ? slen : sizeof sbuf - 1;
      memcpy(sbuf, c, keep);
      sbuf[keep] = '\0';
      v.s = sbuf;
      if (memchr(c, 0, slen)) slen = (size_t)-1; /* refused below if known */
    } else {
      return lsp_fail(LSP_EDATA, "%s: training record field %s has an unknown type (0x%02x)",
                      path, nm, (unsigned char)type);
    }
    int i = 0;
    while (i < NFIELDS && strcmp(k_fields[i].name, nm) != 0) i++;
    if (i == NFIELDS) {
      r->unknown_fields++;
      continue;
    }
    if (k_fields[i].type != type)
      return lsp_fail(LSP_EDATA, "%s: training record field %s has type '%c', expected '%c'",
                      path, nm, type, k_fields[i].type);
    if (seen[i]++)
      return lsp_fail(LSP_EDATA, "%s: training record field %s appears twice", path, nm);
    const char *why = set(r, i, &v, slen);
    if (why)
      return lsp_fail(LSP_EDATA, "%s: training record field %s is invalid (%s)", path, nm, why);
  }
  if (pos != len)
    return lsp_fail(LSP_EDATA, "%s: %zu unexpected bytes after the training record", path,
                    len - pos);
  if (n == 0) return LSP_OK; /* untrained or imported */
  for (int i = 0; i < NFIELDS; i++)
    if (k_fields[i].setting && !seen[i] && (!k_fields[i].distill || r->distilled))
      return lsp_fail(LSP_EDATA, "%s: the training record lacks the setting %s", path,
                      k_fields[i].name);
  r->trained = 1;
  return LSP_OK;
}

/* ---- comparing -------------------------------------------------------------- */

/* Append "name (x vs y)" to out (", " between items); an item that does
 * not fit ends the list with ", ..." where that fits. */
static void diff_add(char *out, size_t len, size_t *used, int *full, const char *name,
                     const char *x, const char *y) {
  if (*full) return;
  char item[192];
  int m = snprintf(item, sizeof item, "%s%s (%s vs %s)", *used ? ", " : "", name, x, y);
  if (m > 0 && (size_t)m < sizeof item && *used + (size_t)m < len) {
    memcpy(out + *used, item, (size_t)m + 1);
    *used += (size_t)m;
  } else {
    *full = 1;
    const char *more = *used ? ", ..." : "...";
    size_t ml = strlen(more);
    if (*used + ml < len) {
      memcpy(out + *used, more, ml + 1);
      *used += ml;
    }
  }
}

const char *lsp_model_record_diff(const lsp_model_meta *a,
                                  const lsp_model_meta *b, char *out,
                                  size_t len) {
  if (!a->trained || !b->trained) {
    snprintf(out, len, "trained (%s vs %s)", a->trained ? "yes" : "no",
             b->trained ? "yes" : "no");
    return out;
  }
  if (a->unknown_fields || b->unknown_fields) {
    snprintf(out, len, "fields unknown to this build (%d vs %d)", a->unknown_fields,
             b->unknown_fields);
    return out;
  }
  if (a->distilled != b->distilled) {
    snprintf(out, len, "distilled (%s vs %s)", a->distilled ? "yes" : "no",
             b->distilled ? "yes" : "no");
    return out;
  }
  size_t used = 0;
  int full = 0;
  if (len) out[0] = '\0';
  for (int i = 0; i < NFIELDS; i++) {
    if (!k_fields[i].setting) continue;
    value x = get(a, i), y = get(b, i);
    char xs[32], ys[32];
    switch (k_fields[i].type) {
      case 'u':
        if (x.u == y.u) continue;
        snprintf(xs, sizeof xs, "%llu", (unsigned long long)x.u);
        snprintf(ys, sizeof ys, "%llu", (unsigned long long)y.u);
        diff_add(out, len, &used, &full, k_fields[i].name, xs, ys);
        break;
      case 'f':
        if (memcmp(&x.f, &y.f, sizeof x.f) == 0) continue;
        lsp_shortest_g(x.f, xs, sizeof xs);
        lsp_shortest_g(y.f, ys, sizeof ys);
        diff_add(out, len, &used, &full, k_fields[i].name, xs, ys);
        break;
      default:
        if (strcmp(x.s, y.s) == 0) continue;
        diff_add(out, len, &used, &full, k_fields[i].name, x.s, y.s);
    }
  }
  /* a difference, even one with no room to be named, still counts */
  return used || full ? out : NULL;
}
