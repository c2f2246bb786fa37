/* lsp_arch.c — architectures: the built-in networks, the spec grammar that
 * describes others, and the canonical text of a graph.
 *
 * Grammar (docs/DESIGN.md §7.4 "Architectures"):
 *   spec   := "lenet" | "resnet8" | "mlp:" [UINT ("," UINT)*] | layers
 *   layers := item (sep item)*          sep: blanks and/or one comma
 *   item   := KIND ["(" [arg ("," arg)*] ")"]
 *           | "res(" layers ["|" layers] ")"   residual block: the main path
 *                                            plus the shortcut (identity
 *                                            when absent), added
 *   arg    := value | KEY "=" value;   value := NUMBER | UINT "x" UINT
 * KIND is dense, conv, maxpool, avgpool, gap, gmp, bn, relu, flatten, pad,
 * pool, reshape, transpose or an activation (sigmoid, tanh, leakyrelu, elu,
 * selu, clip, hardsigmoid, hardswish, softplus, erf, gelu). Positional
 * arguments: dense(units), conv(units, k), maxpool(k), avgpool(k). Keys:
 * every attribute name of the kind (units kh kw sh sw ph pw bias ceil_mode
 * count_pad eps momentum) and the shorthands k, s (stride), p (pad), each
 * N or HxW. Defaults are PyTorch's (stride 1 for conv and the window for
 * pools, padding 0, bias on, eps 1e-5, momentum 0.1). */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_ops.h"

#define MAX_DEPTH 8

static const struct {
  const char *name, *spec;
} builtins[] = {
    {"lenet",
     "conv(6,5,p=2) relu maxpool(2) conv(16,5) relu maxpool(2) flatten "
     "dense(120) relu dense(84) relu"},
    {"resnet8",
     "conv(16,3,p=1,bias=0) bn relu "
     "res(conv(16,3,p=1,bias=0) bn relu conv(16,3,p=1,bias=0) bn) relu "
     "res(conv(32,3,s=2,p=1,bias=0) bn relu conv(32,3,p=1,bias=0) bn"
     " | conv(32,1,s=2,bias=0) bn) relu "
     "res(conv(64,3,s=2,p=1,bias=0) bn relu conv(64,3,p=1,bias=0) bn"
     " | conv(64,1,s=2,bias=0) bn) relu gap"},
};

typedef struct {
  const char *spec; /* the whole text, for messages */
  const char *p;    /* the cursor                    */
  lsp_model *m;
  int blocks; /* residual blocks so far         */
} parser;

static int perr(const parser *ps, const char *at, const char *what) {
  if (!at || !*at)
    return lsp_fail(LSP_EINVAL, "--arch '%s': %s at the end", ps->spec, what);
  return lsp_fail(LSP_EINVAL, "--arch '%s': %s at '%.24s'", ps->spec, what, at);
}

static void skip_sp(parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

/* A decimal number at s (strtod's, but never its hexadecimal form: in
 * "0x3" the 0 is a height and x the separator of HxW), its end in *end. */
static double decimal(const char *s, const char **end) {
  const char *d = s + (*s == '+' || *s == '-');
  if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) {
    *end = d + 1;
    return *s == '-' ? -0.0 : 0.0;
  }
  char *e;
  const double v = strtod(s, &e);
  *end = e;
  return v;
}

/* A number or HxW; *b = *a for a plain number. */
static int value(parser *ps, double *a, double *b, int *pair) {
  const char *end;
  errno = 0;
  *a = decimal(ps->p, &end);
  if (end == ps->p || errno || !isfinite(*a))
    return perr(ps, ps->p, "expected a number");
  ps->p = end;
  *b = *a;
  *pair = 0;
  if (*ps->p == 'x') {
    const char *q = ++ps->p;
    errno = 0;
    *b = decimal(q, &end);
    if (end == q || errno || !isfinite(*b))
      return perr(ps, q, "expected a number after 'x'");
    ps->p = end;
    *pair = 1;
  }
  return LSP_OK;
}

static const lsp_attr_def *attr_named(const lsp_op_def *d, const char *k,
                                      size_t len) {
  for (const lsp_attr_def *a = d->attrs; a->name; a++)
    if (strlen(a->name) == len && memcmp(a->name, k, len) == 0) return a;
  return NULL;
}

/* Store v into the attribute, checking its type. */
static int put(parser *ps, const char *at, lsp_attrs *a, const lsp_attr_def *d,
               double v) {
  if (d->type == LSP_ATTR_SIZE && !(v >= 0 && v <= 1e9 && v == floor(v)))
    return perr(ps, at, "expected a whole number from 0 to 10^9");
  if (d->type == LSP_ATTR_FLAG && v != 0 && v != 1)
    return perr(ps, at, "expected 0 or 1");
  lsp_attr_set(a, d, v);
  return LSP_OK;
}

/* One argument list "(...)" of kind op into *a. */
static int args(parser *ps, lsp_op op, lsp_attrs *a) {
  const lsp_op_def *d = lsp_op_get(op);
  /* positional order: dense(units), conv(units, k), pools(k) */
  static const char *const pos_dense[] = {"units", NULL};
  static const char *const pos_conv[] = {"units", "k", NULL};
  static const char *const pos_pool[] = {"k", NULL};
  const char *const *pos = op == LSP_OP_DENSE  ? pos_dense
                           : op == LSP_OP_CONV ? pos_conv
                           : op == LSP_OP_MAXPOOL || op == LSP_OP_AVGPOOL
                               ? pos_pool
                               : NULL;
  int npos = 0, keyed = 0, stride_set = 0;
  enum { SEEN_MAX = 24 };
  const char *seen[SEEN_MAX]; /* the keys given so far (positional: their key) */
  size_t seen_len[SEEN_MAX], nseen = 0;
  ps->p++; /* '(' */
  skip_sp(ps);
  if (!*ps->p) return perr(ps, ps->p, "'(' not closed");
  if (*ps->p == ')') {
    ps->p++;
    goto done;
  }
  for (;;) {
    skip_sp(ps);
    const char *at = ps->p, *key = NULL;
    size_t klen = 0;
    if (isalpha((unsigned char)*ps->p)) {
      key = ps->p;
      while (isalnum((unsigned char)*ps->p) || *ps->p == '_') ps->p++;
      klen = (size_t)(ps->p - key);
      skip_sp(ps);
      if (*ps->p != '=') return perr(ps, at, "expected key=value");
      ps->p++;
      skip_sp(ps);
      keyed = 1;
    } else {
      if (keyed) return perr(ps, at, "a positional argument after key=value");
      if (!pos || !pos[npos]) return perr(ps, at, "too many arguments");
      key = pos[npos++];
      klen = strlen(key);
    }
    for (size_t i = 0; i < nseen; i++)
      if (seen_len[i] == klen && strncmp(seen[i], key, klen) == 0)
        return perr(ps, at, "an argument given twice");
    if (nseen == SEEN_MAX) return perr(ps, at, "too many arguments");
    seen[nseen] = key, seen_len[nseen++] = klen;
    double v1 = 0, v2 = 0;
    int pair = 0, st;
    if ((st = value(ps, &v1, &v2, &pair))) return st;
    const char *sh[3][3] = {
        {"k", "kh", "kw"}, {"s", "sh", "sw"}, {"p", "ph", "pw"}};
    int done_key = 0;
    for (int i = 0; i < 3 && !done_key; i++) {
      if (klen != 1 || key[0] != sh[i][0][0]) continue;
      const lsp_attr_def *x = attr_named(d, sh[i][1], 2),
                         *y = attr_named(d, sh[i][2], 2);
      if (!x || !y) return perr(ps, at, "this layer takes no such argument");
      if ((st = put(ps, at, a, x, v1)) || (st = put(ps, at, a, y, v2)))
        return st;
      stride_set |= i == 1;
      done_key = 1;
    }
    if (!done_key) {
      if (klen == 1 && key[0] == 'g') key = "groups", klen = 6;
      const lsp_attr_def *x = attr_named(d, key, klen);
      if (!x || pair)
        return perr(ps, at, x ? "expected one number" : "unknown argument");
      if ((st = put(ps, at, a, x, v1))) return st;
      stride_set |= klen == 2 && key[0] == 's';
    }
    skip_sp(ps);
    if (*ps->p == ',') {
      ps->p++;
      continue;
    }
    if (*ps->p != ')') return perr(ps, ps->p, "expected ',' or ')'");
    ps->p++;
    break;
  }
done:
  /* PyTorch's pools stride by the window unless told otherwise */
  if ((op == LSP_OP_MAXPOOL || op == LSP_OP_AVGPOOL) && !stride_set)
    a->sh = a->kh, a->sw = a->kw;
  return LSP_OK;
}

static int layers(parser *ps, int *prev, int depth, const char *scope,
                  int *count);

static int add_node(parser *ps, lsp_op op, const lsp_attrs *a, int in0, int in1,
                    const char *scope, int *count, int *out) {
  char name[4 * LSP_NODE_NAME]; /* lsp_model_add refuses what is too long */
  int k = ++*count;
  if (scope[0])
    snprintf(name, sizeof name, "%s.%s%d", scope, lsp_op_name(op), k);
  else
    snprintf(name, sizeof name, "%s%d", lsp_op_name(op), k);
  if (op == LSP_OP_ADD) snprintf(name, sizeof name, "%s.add", scope);
  return lsp_model_add(ps->m, op, a, in0, in1, name, out);
}

static int item(parser *ps, int *prev, int depth, const char *scope,
                int *count) {
  const char *at = ps->p;
  while (isalnum((unsigned char)*ps->p)) ps->p++;
  size_t len = (size_t)(ps->p - at);
  if (len == 0) return perr(ps, at, "expected a layer");
  if (len == 3 && memcmp(at, "res", 3) == 0) {
    if (*ps->p != '(') return perr(ps, ps->p, "expected '(' after res");
    if (depth >= MAX_DEPTH)
      return perr(ps, at, "residual blocks nested too deeply");
    ps->p++;
    char sub[2 * LSP_NODE_NAME], sc[3 * LSP_NODE_NAME];
    snprintf(sub, sizeof sub, "%s%sres%d", scope, scope[0] ? "." : "",
             ++ps->blocks);
    int main_out = *prev, short_out = *prev, c = 0, st;
    if ((st = layers(ps, &main_out, depth + 1, sub, &c))) return st;
    if (main_out == *prev)
      return perr(ps, at, "a residual block without layers");
    if (*ps->p == '|') {
      ps->p++;
      snprintf(sc, sizeof sc, "%s.down", sub);
      int c2 = 0;
      if ((st = layers(ps, &short_out, depth + 1, sc, &c2))) return st;
    }
    if (*ps->p != ')') return perr(ps, ps->p, "expected ')' closing res(");
    ps->p++;
    lsp_attrs a;
    lsp_attrs_default(LSP_OP_ADD, &a);
    if ((st = add_node(ps, LSP_OP_ADD, &a, main_out, short_out, sub, &c, prev)))
      return lsp_fail_prefix(st, "--arch");
    return LSP_OK;
  }
  lsp_op op = lsp_op_by_name(at, len);
  if (!op) { /* "Conv", "RELU": the names are lower case */
    char low[16];
    for (size_t i = 0; i < len && i < sizeof low; i++) low[i] = (char)tolower((unsigned char)at[i]);
    if (len < sizeof low && (lsp_op_by_name(low, len) || (len == 3 && !memcmp(low, "res", 3))))
      return perr(ps, at, "layer names are lower case");
  }
  if (!op || op == LSP_OP_ADD || op == LSP_OP_NORMALIZE ||
      lsp_op_get(op)->nin > 1)
    return perr(ps, at,
                op == LSP_OP_NORMALIZE || op == LSP_OP_ADD
                    ? "add and normalize come from res(...) and --normalize"
                : op ? "mul and concat come from imported ONNX graphs only"
                   : "unknown layer (dense conv maxpool avgpool pool gap gmp bn relu sigmoid tanh "
                     "leakyrelu elu selu clip hardsigmoid hardswish softplus erf gelu pad reshape "
                     "transpose flatten res; or a whole network: lenet, resnet8, mlp:W,...)");
  lsp_attrs a;
  lsp_attrs_default(op, &a);
  if (op == LSP_OP_MAXPOOL || op == LSP_OP_AVGPOOL)
    a.kh = a.kw = 0; /* required */
  if (op == LSP_OP_CONV) a.kh = a.kw = 0;
  int st;
  const char *paren = ps->p + strspn(ps->p, " \t");
  if (*paren == '(') ps->p = paren; /* "conv (6,5)" as "conv(6,5)" */
  if (*ps->p == '(' && (st = args(ps, op, &a))) return st;
  if ((op == LSP_OP_DENSE || op == LSP_OP_CONV) && a.units == 0)
    return perr(ps, at, "the layer needs its number of units/channels");
  if ((op == LSP_OP_CONV || op == LSP_OP_MAXPOOL || op == LSP_OP_AVGPOOL) &&
      a.kh == 0)
    return perr(ps, at, "the layer needs its kernel size");
  /* lo >= hi maps every input to hi (ONNX's and torch.clamp's rule): a
   * constant layer with a zero gradient, nothing a network could learn
   * through. Imported ONNX graphs keep ONNX's rule; a spec is refused. */
  if (op == LSP_OP_CLIP && !(a.lo < a.hi)) {
    char what[160];
    snprintf(what, sizeof what,
             "clip needs lo below hi (lo = %g, hi = %g: every output would "
             "be %g)",
             a.lo, a.hi, a.hi);
    return perr(ps, at, what);
  }
  /* likewise hardsigmoid's slope 0: every output clip(beta, 0, 1) */
  if (op == LSP_OP_HARDSIGMOID && a.alpha == 0.0)
    return perr(ps, at,
                "hardsigmoid needs a slope alpha other than 0 (alpha = 0 "
                "makes every output the same)");
  if ((st = add_node(ps, op, &a, *prev, 0, scope, count, prev)))
    return lsp_fail_prefix(st, "--arch");
  return LSP_OK;
}

static int layers(parser *ps, int *prev, int depth, const char *scope,
                  int *count) {
  for (;;) {
    skip_sp(ps);
    if (!*ps->p || *ps->p == ')' || *ps->p == '|') return LSP_OK;
    int st = item(ps, prev, depth, scope, count);
    if (st) return st;
    skip_sp(ps);
    if (*ps->p == ',') ps->p++;
  }
}

/* 1 if every window of a pooling axis (n windows, k taps d apart, the
 * first tap of window r at r·s − p) has a tap in [lo, hi). */
static int axis_windows_hit(size_t n, size_t k, size_t s, size_t p, size_t d,
                            size_t lo, size_t hi) {
  for (size_t r = 0; r < n; r++) {
    int hit = 0;
    for (size_t u = 0; u < k && !hit; u++) {
      const long long t = (long long)(r * s) - (long long)p + (long long)(u * d);
      hit = t >= (long long)lo && t < (long long)hi;
    }
    if (!hit) return 0;
  }
  return 1;
}

/* A −∞ padding (pad mode 3) is the padding of a max pooling: refused unless
 * every layer reading it is one (maxpool, pool without avg, gmp) whose every
 * window holds a pixel of the image, as it then never wins a max; anything
 * else would carry −∞ on (NaN once multiplied by 0 or added to +∞). */
static int check_min_pads(const lsp_model *m, const char *spec) {
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *pd = &m->nodes[i];
    if (pd->op != LSP_OP_PAD || pd->a.mode != LSP_PAD_MIN) continue;
    for (size_t j = i + 1; j < m->nnodes; j++) {
      const lsp_node *nd = &m->nodes[j];
      if (!((nd->nin > 0 && nd->in[0] == (int)i) || (nd->nin > 1 && nd->in[1] == (int)i)))
        continue;
      if (nd->op == LSP_OP_GMP) continue;
      if (nd->op != LSP_OP_MAXPOOL && !(nd->op == LSP_OP_POOL && !nd->a.avg))
        return lsp_fail(LSP_EINVAL,
                        "--arch '%s': '%s' pads with −∞ (mode 3), the padding of a max "
                        "pooling, but '%s' (%s) reads it; use mode 0 (a constant) there",
                        spec, pd->name, nd->name, lsp_op_name(nd->op));
      const lsp_pool2d_geom g =
          nd->op == LSP_OP_MAXPOOL ? lsp_pool_geom_of(nd) : lsp_gpool_geom_of(nd);
      const size_t dh = g.dh > 1 ? g.dh : 1, dw = g.dw > 1 ? g.dw : 1;
      if (!axis_windows_hit(g.h_out, g.kh, g.sh, g.ph, dh, pd->a.pt, pd->a.pt + pd->ishape.h) ||
          !axis_windows_hit(g.w_out, g.kw, g.sw, g.pw, dw, pd->a.pl, pd->a.pl + pd->ishape.w))
        return lsp_fail(LSP_EINVAL,
                        "--arch '%s': a window of '%s' lies wholly in the −∞ padding of "
                        "'%s' (its output would be −∞); pad less or pool with a larger "
                        "window",
                        spec, nd->name, pd->name);
    }
  }
  return LSP_OK;
}

static int mlp_spec(const char *widths, char *buf, size_t len) {
  size_t n = 0;
  const char *p = widths;
  buf[0] = 0;
  while (*p) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || v == 0 || *p == '-' || *p == '+')
      return lsp_fail(LSP_EINVAL,
                      "--arch 'mlp:%s': widths must be positive whole numbers",
                      widths);
    if (errno || v > (1u << 24))
      return lsp_fail(LSP_EINVAL,
                      "--arch 'mlp:%s': a width of %.*s is above the largest, %u",
                      widths, (int)(end - p), p, 1u << 24);
    n += (size_t)snprintf(buf + n, len - n, "dense(%llu) relu ", v);
    if (n >= len)
      return lsp_fail(LSP_EINVAL, "--arch 'mlp:%s': too many layers", widths);
    p = end;
    if (*p == ',')
      p++;
    else if (*p)
      return lsp_fail(LSP_EINVAL, "--arch 'mlp:%s': expected ',' at '%s'",
                      widths, p);
  }
  return LSP_OK;
}

int lsp_model_from_spec(const char *spec, lsp_shape in, size_t classes,
                        const float *normalize, size_t nnorm, lsp_model **out) {
  *out = NULL;
  if (nnorm && nnorm != 2 * in.c)
    return lsp_fail(LSP_EINVAL,
                    "--normalize: %zu values for %zu input channel(s); give "
                    "the %zu means, then "
                    "the %zu standard deviations",
                    nnorm, in.c, in.c, in.c);
  if (!nnorm) normalize = NULL;
  char mlp[2048];
  const char *text = spec;
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (strcmp(spec, builtins[i].name) == 0) text = builtins[i].spec;
  int st;
  if (strcmp(spec, "mlp") == 0) text = "dense(256) relu dense(256) relu";
  if (strncmp(spec, "mlp:", 4) == 0) {
    if ((st = mlp_spec(spec + 4, mlp, sizeof mlp))) return st;
    text = mlp;
  }
  if (text == spec && spec[strspn(spec, " \t,")] == 0) /* "mlp:" is the linear model */
    return lsp_fail(LSP_EINVAL,
                    "--arch '%s': no layers; give a network (mlp:W,..., lenet, resnet8 or "
                    "a layer list; 'mlp:' for the linear classifier alone)",
                    spec);
  if (classes < 2)
    return lsp_fail(LSP_EINVAL, "a classifier needs 2 or more classes");
  lsp_model *m = lsp_model_new(in);
  if (!m) return strstr(lsp_errmsg(), "memory") ? LSP_ENOMEM : LSP_EINVAL;
  int prev = LSP_INPUT;
  lsp_attrs a;
  if (normalize) {
    for (size_t c = 0; c < in.c; c++)
      /* the std as the loader wants it (a finite normal float, so that
       * 1/std is finite too), and positive */
      if (!isfinite(normalize[c]) || !(normalize[in.c + c] >= FLT_MIN) ||
          !isfinite(normalize[in.c + c])) {
        st = lsp_fail(LSP_EINVAL,
                      "--normalize: channel %zu needs a finite mean and a positive std "
                      "(a normal float, at least %g; got %g)",
                      c, (double)FLT_MIN, (double)normalize[in.c + c]);
        goto fail;
      }
    lsp_attrs_default(LSP_OP_NORMALIZE, &a);
    if ((st = lsp_model_add(m, LSP_OP_NORMALIZE, &a, prev, 0, "normalize",
                            &prev)))
      goto fail;
  }
  parser ps = {text, text, m, 0};
  int count = 0;
  if ((st = layers(&ps, &prev, 0, "", &count))) goto fail;
  if (*ps.p) {
    st = perr(&ps, ps.p, "unexpected text");
    goto fail;
  }
  lsp_attrs_default(LSP_OP_DENSE, &a);
  a.units = classes;
  if ((st = lsp_model_add(m, LSP_OP_DENSE, &a, prev, 0, "fc", NULL)) ||
      (st = lsp_model_finish(m)) || (st = check_min_pads(m, spec)))
    goto fail;
  if (normalize)
    memcpy(m->state + m->nodes[0].s_off, normalize, 2 * in.c * sizeof(float));
  snprintf(m->arch, sizeof m->arch, "%s",
           strlen(spec) < sizeof m->arch ? spec : "spec");
  *out = m;
  return LSP_OK;
fail:
  lsp_model_free(m);
  return st;
}

/* ---- the canonical text
 * ------------------------------------------------------- */

typedef struct {
  char *buf;
  size_t len, n;
} sbuf;

static void out(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(b->n < b->len ? b->buf + b->n : NULL,
                    b->n < b->len ? b->len - b->n : 0, fmt, ap);
  va_end(ap);
  if (k > 0) b->n += (size_t)k;
}

size_t lsp_model_arch_string(const lsp_model *m, char *buf, size_t len) {
  sbuf b = {buf, len, 0};
  if (len) buf[0] = 0;
  out(&b, "%zux%zux%zu", m->in_shape.c, m->in_shape.h, m->in_shape.w);
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    const lsp_op_def *d = lsp_op_get(nd->op);
    out(&b, " %s", d->name);
    const char *sep = "(";
    for (const lsp_attr_def *a = d->attrs; a->name; a++) {
      if (lsp_attr_omitted(&nd->a, a)) continue;
      out(&b, "%s%s=%.17g", sep, a->name, lsp_attr_get(&nd->a, a));
      sep = ",";
    }
    if (d->const_state)
      for (size_t j = 0; j < nd->s_len; j++) {
        out(&b, "%s%.9g", sep, (double)m->state[nd->s_off + j]);
        sep = ",";
      }
    if (sep[0] == ',') out(&b, ")");
    int chain = nd->nin == 1 && nd->in[0] == (int)i - 1;
    for (int k = 0; k < nd->nin && !chain; k++)
      out(&b, "%s%d", k ? "," : "@", nd->in[k]);
  }
  return b.n;
}
