/* lsprobe export — a model (.lspm, ONNX or a PyTorch export folder) as an
 * ONNX file other tools open: opset 13 (14 with HardSwish, 20 with Gelu),
 * the batch dimension symbolic.
 * Before anything is written, the file's bytes are read back and lowered
 * again, and the copy must give the very logits of the model (bit for bit)
 * on a few inputs; the file is then written atomically. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h> /* strcasecmp */
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx.h"

/* The copy read back from `buf` computes exactly m's logits on a few
 * deterministic inputs spread over [0, 1]. */
static int same_logits(const lsp_model *m, const uint8_t *buf, size_t len,
                       const char *out) {
  lsp_onnx_model *om = NULL;
  lsp_model *r = NULL;
  const size_t n = 4;
  float *x = malloc(n * m->in_dim * sizeof *x);
  float *z1 = malloc(n * m->out_dim * sizeof *z1);
  float *z2 = malloc(n * m->out_dim * sizeof *z2);
  int st = !x || !z1 || !z2 ? lsp_fail(LSP_ENOMEM, "out of memory") : LSP_OK;
  for (size_t i = 0; !st && i < n * m->in_dim; i++)
    x[i] = (float)(0.5 + 0.5 * sin(0.7 * (double)i + 0.3));
  if (!st) st = lsp_onnx_read_mem(buf, len, out, NULL, 0, &om);
  if (!st) st = lsp_onnx_lower(om, out, NULL, &r);
  if (!st) st = lsp_model_predict(m, x, n, n, z1, NULL);
  if (!st) st = lsp_model_predict(r, x, n, n, z2, NULL);
  if (!st && memcmp(z1, z2, n * m->out_dim * sizeof *z1) != 0)
    st = lsp_fail(LSP_EDATA,
                  "%s: read back, the ONNX model computes other logits than "
                  "the model (an lsprobe bug: please report it)",
                  out);
  free(x);
  free(z1);
  free(z2);
  lsp_model_free(r);
  lsp_onnx_model_free(om);
  return st;
}

static void shape_str(const lsp_onnx_shape *s, char *buf, size_t len) {
  size_t at = 0;
  for (int k = 0; k < s->rank && at < len; k++) {
    int n = k == 0 && s->dims[0] < 0
                ? snprintf(buf + at, len - at, "N")
                : snprintf(buf + at, len - at, "%s%lld", k ? " × " : "",
                           (long long)s->dims[k]);
    at += n > 0 ? (size_t)n : 0;
  }
}

/* An ONNX model's input is written channels first at rank 2 (N × D, a
 * network without spatial layers) or 4 (N × C × H × W): lsprobe keeps
 * C × H × W, not the shape the file declared. When the model came from an
 * ONNX file whose input had another shape (N × C × L; N × D reshaped to an
 * image; channels last), the data another tool feeds the export needs the
 * new one: say so. */
static void warn_rank(const char *cmd, const char *mpath,
                      const lsp_onnx_model *om) {
  lsp_onnx_model *src = NULL;
  struct stat sb;
  if (stat(mpath, &sb) != 0 || !S_ISREG(sb.st_mode) ||
      lsp_onnx_read(mpath, &src) != LSP_OK) {
    lsp_clear_error();
    return;
  }
  int same = src->in_shape.rank == om->in_shape.rank;
  for (int k = 1; same && k < src->in_shape.rank; k++)
    same = src->in_shape.dims[k] == om->in_shape.dims[k];
  if (!same) {
    char a[128] = "", b[128] = "";
    shape_str(&src->in_shape, a, sizeof a);
    shape_str(&om->in_shape, b, sizeof b);
    cli_warn(cmd,
             "the written model's input is %s; %s declares %s (lsprobe "
             "keeps an input as C × H × W, written channels first at rank 2 "
             "or 4): give the exported file the data %s to %s",
             b, mpath, a, src->nhwc_input ? "transposed" : "reshaped", b);
  }
  lsp_onnx_model_free(src);
}

int cmd_export(int argc, char **argv) {
  const char *cmd = "export";
  cli_opt opts[] = {
      {"model", "M",
       "the model: a .lspm file, an ONNX file or a PyTorch export folder "
       "(required)",
       1, 0, 0},
      {"out", "F.onnx", "the ONNX file to write (required)", 1, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(
      cmd, "--model M --out F.onnx",
      "Write a model as an ONNX file (IR 8, opset 13, batch dimension N; "
      "opset 14 with\nHardSwish, IR 9 and opset 20 with Gelu) that other "
      "tools open: each layer one\nONNX node, the input normalization as "
      "Sub and Div. Read back, the file gives\nbit-identical logits "
      "(checked before it is written).",
      argc, argv, opts);
  if (rc) return rc;
  if ((rc = cli_require(cmd, opts, "model")) ||
      (rc = cli_require(cmd, opts, "out")))
    return rc;
  static const char *const ins[] = {"model", NULL};
  if ((rc = cli_check_out_file(cmd, opts, "out", ins))) return rc;
  const char *mpath = cli_str(opts, "model", NULL);
  const char *out = cli_str(opts, "out", NULL);
  size_t lo = strlen(out);
  if (lo >= 5 && strcasecmp(out + lo - 5, ".lspm") == 0) /* .LSPM too */
    return cli_error(cmd, CLI_USAGE,
                     "--out %s: export writes ONNX; a .lspm name would say otherwise "
                     "(name it .onnx; lsprobe train writes .lspm files)",
                     out);
  lsp_model *m = NULL;
  lsp_onnx_model *om = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  int st;
  if ((st = cli_model_load(cmd, mpath, &m)) ||
      ((st = lsp_onnx_from_model(m, &om)) && lsp_fail_prefix(st, mpath)) ||
      (st = lsp_onnx_encode(om, out, &buf, &len)) ||
      (st = same_logits(m, buf, len, out)) ||
      (st = lsp_write_file_atomic(out, buf, len))) {
    rc = cli_lib_error(cmd, st);
    goto done;
  }
  warn_rank(cmd, mpath, om);
  char arch[256];
  lsp_model_describe(m, arch, sizeof arch);
  printf(
      "exported %s (%s, %zu layers, %zu parameters) to %s: %zu ONNX nodes, "
      "%zu bytes, opset %lld\n",
      mpath, arch, m->nnodes, m->nparams, out, om->nnodes, len,
      (long long)om->opset);
  rc = CLI_OK;
done:
  free(buf);
  lsp_onnx_model_free(om);
  lsp_model_free(m);
  return rc;
}
