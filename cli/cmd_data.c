/* lsprobe data — load a dataset, split it, and print what was loaded. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "core/formats/lsp_json.h"

static void json_split(lsp_json *j, const char *key, const lsp_dataset *d,
                       size_t *counts) {
  float lo, hi;
  lsp_dataset_class_counts(d, counts);
  lsp_dataset_range(d, &lo, &hi);
  lsp_json_key(j, key);
  lsp_json_obj_begin(j);
  lsp_json_key_int(j, "n", (long long)d->n);
  lsp_json_key(j, "class_counts");
  lsp_json_arr_begin(j);
  for (int c = 0; c < d->k; c++) lsp_json_int(j, (long long)counts[c]);
  lsp_json_arr_end(j);
  lsp_json_key_num(j, "min", lo);
  lsp_json_key_num(j, "max", hi);
  lsp_json_obj_end(j);
}

/* Classes up to which the text lists every count; beyond, one summary
 * (--json lists them all). */
#define LIST_CLASSES 100

static void text_split(const char *name, const lsp_dataset *d, size_t *counts) {
  float lo, hi;
  lsp_dataset_class_counts(d, counts);
  lsp_dataset_range(d, &lo, &hi);
  printf("%-6s %7zu examples, values [%g, %g], per class:", name, d->n,
         (double)lo, (double)hi);
  if (d->k <= LIST_CLASSES) {
    for (int c = 0; c < d->k; c++) printf(" %zu", counts[c]);
    printf("\n");
    return;
  }
  int cmin = 0, cmax = 0, empty = 0, first_empty = -1;
  for (int c = 0; c < d->k; c++) {
    if (counts[c] < counts[cmin]) cmin = c;
    if (counts[c] > counts[cmax]) cmax = c;
    if (!counts[c] && empty++ == 0) first_empty = c;
  }
  printf(" %d classes, counts %zu (class %d) to %zu (class %d)", d->k, counts[cmin], cmin,
         counts[cmax], cmax);
  if (empty) printf(", %d empty (the first: %d)", empty, first_empty);
  printf("; --json lists every count\n");
}

int cmd_data(int argc, char **argv) {
  const char *cmd = "data";
  cli_opt opts[] = {
      {"data", "D",
       "fashion-mnist, synthetic[:key=v,...] or a folder (IDX, CSV or .npy); "
       "required",
       1, 0, 0},
      {"val", "N",
       "validation examples taken from the training file "
       "(default 1/12: 5000 of 60000)",
       1, 0, 0},
      {"seed", "S", "split (and synthetic mixture) seed (default 1, the split every other command uses)", 1, 0, 0},
      {"max-train", "N", "keep only the first N training examples", 1, 0, 0},
      {"max-test", "N", "keep only the first N test examples", 1, 0, 0},
      {"json", NULL, "print one JSON object instead of text", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(
      cmd,
      "--data D [--val N] [--seed S] [--max-train N] [--max-test N] [--json]",
      "Load a dataset and its train/validation/test split and print a "
      "summary:\nsizes, dimension, classes, per-class counts, value range "
      "and the content hash\nthat keys cached models. D is\n"
      "  fashion-mnist   $LSPROBE_DATA, else "
      "/usr/share/datasets/fashion-mnist\n"
      "  synthetic[:train=6000,test=2000,dim=64,classes=10,sep=3]\n"
      "                  a seeded Gaussian mixture with features in [0, 1]\n"
      "  a folder        train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
      "                  t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte "
      "(each plain\n                  or .gz); or train.csv + test.csv "
      "(label first); or\n                  x_train.npy, y_train.npy, "
      "x_test.npy, y_test.npy\n"
      "Pixels are scaled to [0, 1]: uint8 ones, and float ones (CSV, .npy) "
      "when every\nvalue is a whole number 0-255 (with a note); other float "
      "images outside [0, 1]\nare refused.",
      argc, argv, opts);
  if (rc) return rc;
  if ((rc = cli_require(cmd, opts, "data"))) return rc;
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = cli_str(opts, "data", NULL);
  long val, seed, max_train, max_test;
  if ((rc = cli_get_long(cmd, opts, "val", -1, 1, 1L << 40, &val)) ||
      (rc = cli_get_long(cmd, opts, "seed", 1, 0, 4294967295L, &seed)) ||
      (rc = cli_get_long(cmd, opts, "max-train", 0, 1, 1L << 40, &max_train)) ||
      (rc = cli_get_long(cmd, opts, "max-test", 0, 1, 1L << 40, &max_test)))
    return rc;
  if (val > 0) o.n_val = (size_t)val;
  o.seed = (unsigned long)seed;
  o.max_train = (size_t)max_train;
  o.max_test = (size_t)max_test;

  lsp_splits s;
  double t0 = lsp_now_s();
  int st = lsp_data_load(&o, &s);
  double secs = lsp_now_s() - t0;
  if (st) return cli_lib_error(cmd, st);
  size_t *counts = calloc((size_t)s.train.k, sizeof *counts);
  if (!counts) {
    lsp_splits_free(&s);
    return cli_error(cmd, CLI_DATA, "out of memory");
  }
  char hash[17];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s.hash);
  cli_note(cmd, s.note);
  if (cli_has(opts, "json")) {
    lsp_json j;
    lsp_json_init(&j, stdout, 0);
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, "name", s.name);
    lsp_json_key_str(&j, "source", s.source);
    lsp_json_key_bool(&j, "synthetic", s.synthetic);
    if (s.note[0]) lsp_json_key_str(&j, "note", s.note);
    lsp_json_key_int(&j, "dim", (long long)s.train.dim);
    lsp_json_key_int(&j, "classes", s.train.k);
    lsp_json_key(&j, "channels");
    if (s.img_h)
      lsp_json_int(&j, (long long)s.img_c);
    else
      lsp_json_null(&j);
    lsp_json_key(&j, "image");
    if (s.img_h) {
      lsp_json_arr_begin(&j);
      lsp_json_int(&j, (long long)s.img_h);
      lsp_json_int(&j, (long long)s.img_w);
      lsp_json_arr_end(&j);
    } else {
      lsp_json_null(&j);
    }
    lsp_json_key_num(&j, "lo", s.lo);
    lsp_json_key_num(&j, "hi", s.hi);
    lsp_json_key_int(&j, "seed", (long long)o.seed);
    json_split(&j, "train", &s.train, counts);
    json_split(&j, "val", &s.val, counts);
    json_split(&j, "test", &s.test, counts);
    lsp_json_key_str(&j, "hash", hash);
    lsp_json_key_num(&j, "load_seconds", secs);
    lsp_json_obj_end(&j);
    if (lsp_json_finish(&j))
      rc = cli_error(cmd, CLI_DATA, "writing stdout failed");
  } else {
    printf("dataset %s (%s)\n", s.name, s.source);
    printf("%zu features", s.train.dim);
    if (s.img_h) printf(" (%zux%zux%zu images)", s.img_c, s.img_h, s.img_w);
    printf(", %d classes, input bounds [%g, %g], split seed %lu\n", s.train.k,
           (double)s.lo, (double)s.hi, o.seed);
    text_split("train", &s.train, counts);
    text_split("val", &s.val, counts);
    text_split("test", &s.test, counts);
    printf("hash %s, loaded in %.3f s\n", hash, secs);
  }
  free(counts);
  lsp_splits_free(&s);
  return rc;
}
