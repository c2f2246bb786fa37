#define _POSIX_C_SOURCE 200809L
/* lsprobe attack — FGSM / targeted FGSM / BIM / PGD sweeps over ε, white-box
 * or transferred from another model, APGD-CE / APGD-DLR / APGD-T / Square
 * and the AutoAttack protocol, optionally with the gradient-masking
 * checklist (DESIGN §2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attacks/lsp_attack.h"
#include "cli/cli.h"
#include "cli/cmd_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "core/data/lsp_data.h"
#include "core/formats/lsp_json.h"
#include "core/formats/lsp_npy.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"

static const char *k_cmd = "attack";

int cmd_attack(int argc, char **argv) {
  cli_opt opts[] = {
      {"model", "M",
       "the attacked model (.lspm, .onnx or a PyTorch export folder), required", 1, 0,
       0},
      {"data", "D",
       "dataset: fashion-mnist, synthetic or a folder (IDX, CSV or .npy)", 1,
       0, 0},
      {"x", "X.npy",
       "instead of --data: N×C×H×W, N×C×L (N×H×W) or N×D inputs "
       "(float32/float64, or uint8 pixels divided by 255; rows in C order)", 1, 0,
       0},
      {"labels", "y.npy", "with --x: N integer labels", 1, 0, 0},
      {"input-shape", "C,H,W",
       "with --x of N×D rows: their image shape (checked against the model)", 1, 0, 0},
      {"lo", "A", "with --x: lower input bound (default 0)", 1, 0, 0},
      {"hi", "B", "with --x: upper input bound (default 1)", 1, 0, 0},
      {"split", "S", "with --data: test (default) or val", 1, 0, 0},
      {"limit", "N", "attack only the first N examples (default 0 = all)", 1, 0, 0},
      {"attack", "A",
       "fgsm (default), fgsm-targeted, bim, pgd, apgd-ce, apgd-dlr, apgd-t, "
       "square or autoattack",
       1, 0, 0},
      {"eps", "LIST",
       "comma-separated eps >= 0 (default 0,0.01,0.02,0.05,0.1,0.2,0.3)", 1, 0,
       0},
      {"steps", "S", "bim/pgd: steps (default 10); apgd: iterations (100)", 1,
       0, 0},
      {"step-size", "A", "bim/pgd: step size (default 2.5*eps/steps: the steps span 2.5 eps; eps/4 at 10 steps)", 1, 0, 0},
      {"restarts", "R",
       "pgd/apgd/square: restarts (bim, with no random start, runs once); robust = "
       "survives all (default 1)",
       1, 0,
       0},
      {"targets", "T", "apgd-t/autoattack: target classes (default 9)", 1, 0,
       0},
      {"queries", "Q", "square/autoattack: queries per example (default 5000)",
       1, 0, 0},
      {"p-init", "P", "square/autoattack: first squares' share (default 0.8)",
       1, 0, 0},
      {"loss", "L", "fgsm/bim/pgd loss: ce (default), smoothed, margin or dlr",
       1, 0, 0},
      {"smoothing", "E", "with --loss smoothed: eps (default: the model's own)",
       1, 0, 0},
      {"convention", "C",
       "with --loss smoothed: uniform or t2t (default: the model's own, else "
       "uniform)",
       1, 0, 0},
      {"target", "T", "targeted: least-likely (default) or a class index", 1, 0,
       0},
      {"transfer-from", "M0", "craft on M0, score on --model", 1, 0, 0},
      {"checks", NULL,
       "also run FGSM (and the transfer; autoattack: FGSM and PGD) and print "
       "the masking checklist",
       0, 0, 0},
      {"adv-out", "F.npy", "write the adversarial inputs of the last eps, shaped as --x (N x C x H x W for --data images)", 1, 0,
       0},
      {"full-steps", NULL,
       "bim/pgd: all steps for every example, judge the last iterate only", 0,
       0, 0},
      {"seed", "S", "random starts and squares (default 1)", 1, 0, 0},
      {"batch", "B", "rows per batch (default 256; fewer for networks whose activations pass 128 MiB)", 1, 0, 0},
      {"threads", "T", "threads (default and 0: all cores)", 1, 0, 0},
      {"json", NULL, "print one JSON object", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(
      k_cmd, "--model M (--data D | --x X.npy --labels y.npy) [options]",
      "L-infinity adversarial attacks over a list of eps: accuracy over all "
      "N,\n"
      "success rate on clean-correct examples, mean confidence and the share "
      "of\n"
      "exactly-zero input gradients per eps. apgd-* and square are the "
      "components\n"
      "of autoattack (Croce & Hein 2020): apgd-ce, then apgd-t, then square, "
      "each on\n"
      "the examples still correct; robust = survives all three.",
      argc, argv, opts);
  if (rc) return rc;
  if ((rc = cli_require(k_cmd, opts, "model"))) return rc;

  /* options first (usage errors before any file is read) */
  lsp_attack_opts ao;
  lsp_attack_opts_default(&ao);
  const char *aname = cli_str(opts, "attack", "fgsm");
  int targeted = 0;
  if (strcmp(aname, "fgsm-targeted") == 0) {
    ao.kind = LSP_ATTACK_FGSM;
    targeted = 1;
  } else if (lsp_attack_kind_parse(aname, &ao.kind) != LSP_OK) {
    return cli_error(k_cmd, CLI_USAGE,
                     "--attack: '%s' is not fgsm, fgsm-targeted, bim, pgd, "
                     "apgd-ce, apgd-dlr, apgd-t, square or autoattack",
                     aname);
  }
  const int aa = lsp_attack_kind_is_aa(ao.kind);
  if (aa) {
    static const char *const not_aa[] = {"loss",      "smoothing",
                                         "convention", "target",
                                         "transfer-from", "step-size",
                                         "full-steps"};
    for (size_t i = 0; i < sizeof not_aa / sizeof not_aa[0]; i++)
      if (cli_has(opts, not_aa[i]))
        return cli_error(k_cmd, CLI_USAGE, "--%s does not go with --attack %s",
                         not_aa[i], aname);
  } else {
    static const struct {
      const char *name, *attacks;
    } only_aa[] = {{"targets", "apgd-t or autoattack"},
                   {"queries", "square or autoattack"},
                   {"p-init", "square or autoattack"}};
    for (size_t i = 0; i < sizeof only_aa / sizeof only_aa[0]; i++)
      if (cli_has(opts, only_aa[i].name))
        return cli_error(k_cmd, CLI_USAGE, "--%s goes with --attack %s",
                         only_aa[i].name, only_aa[i].attacks);
  }
  if (aa && ao.kind != LSP_ATTACK_AUTOATTACK) {
    /* one stage of autoattack: the other stages' options are accepted (one
     * option set for a loop over the stages) and named as ignored */
    const int sq = ao.kind == LSP_ATTACK_SQUARE;
    const struct {
      const char *name;
      int applies;
    } stage_opts[] = {{"targets", ao.kind == LSP_ATTACK_APGD_T},
                      {"queries", sq},
                      {"p-init", sq},
                      {"steps", !sq}};
    char list[96] = "";
    int nign = 0;
    for (size_t i = 0; i < sizeof stage_opts / sizeof stage_opts[0]; i++)
      if (!stage_opts[i].applies && cli_has(opts, stage_opts[i].name)) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s--%s", nign++ ? ", " : "",
                 stage_opts[i].name);
      }
    if (nign)
      cli_warn(k_cmd, "%s %s not apply to --attack %s: ignored", list,
               nign == 1 ? "does" : "do", aname);
  }
  if (ao.kind == LSP_ATTACK_FGSM) { /* one step of size ε */
    static const char *const not_fgsm[] = {"steps", "step-size", "restarts", "full-steps"};
    for (size_t i = 0; i < sizeof not_fgsm / sizeof not_fgsm[0]; i++)
      if (cli_has(opts, not_fgsm[i]))
        return cli_error(k_cmd, CLI_USAGE,
                         "--%s does not go with --attack %s (one step of size ε); "
                         "use bim or pgd for iterations",
                         not_fgsm[i], aname);
  }
  if (cli_has(opts, "split") && !cli_has(opts, "data"))
    return cli_error(k_cmd, CLI_USAGE,
                     "--split goes with --data (a dataset's test or val split), "
                     "not with --x/--labels");
  static const char *const ins[] = {"model", "data", "x", "labels", "transfer-from", NULL};
  if ((rc = cli_check_out_file(k_cmd, opts, "adv-out", ins))) return rc;
  if (lsp_attack_loss_parse(cli_str(opts, "loss", "ce"), &ao.loss) != LSP_OK)
    return cli_error(k_cmd, CLI_USAGE, "--loss: %s", lsp_errmsg());
  double *eps = NULL;
  size_t neps = 0;
  long steps, restarts, seed, batch, threads, targets, queries;
  double step = 0.0, p_init = 0.8;
  if ((rc = cli_get_doubles_distinct(k_cmd, opts, "eps", "0,0.01,0.02,0.05,0.1,0.2,0.3", 0.0,
                                     1e30, &eps, &neps)))
    return rc;
  if ((rc = cli_get_long(k_cmd, opts, "steps", aa ? 100 : 10, 1, 1000000,
                         &steps)) ||
      (rc = cli_get_long(k_cmd, opts, "targets", 9, 1, 1000000, &targets)) ||
      (rc = cli_get_long(k_cmd, opts, "queries", 5000, 1, 100000000,
                         &queries)) ||
      (rc = cli_get_double(k_cmd, opts, "p-init", 0.8, 0.0, 1.0, &p_init)) ||
      (rc = cli_get_long(k_cmd, opts, "restarts", 1, 1, 1000000, &restarts)) ||
      (rc = cli_get_long(k_cmd, opts, "seed", 1, 0, 2147483647L, &seed)) ||
      (rc = cli_get_long(k_cmd, opts, "batch", 256, 1, 1 << 20, &batch)) ||
      (rc = cli_get_long(k_cmd, opts, "threads", 0, 0, 1024, &threads)) ||
      (rc = cli_get_double(k_cmd, opts, "step-size", 0.0, 0.0, 1e30, &step)))
    goto out;
  if (cli_has(opts, "step-size") && step == 0.0) {
    rc = cli_error(k_cmd, CLI_USAGE, "--step-size must be positive");
    goto out;
  }
  if (p_init == 0.0) {
    rc = cli_error(k_cmd, CLI_USAGE, "--p-init must be positive");
    goto out;
  }
  ao.steps = aa ? ao.steps : (size_t)steps;
  ao.apgd_steps = (size_t)steps;
  ao.targets = (size_t)targets;
  ao.queries = (size_t)queries;
  ao.p_init = p_init;
  if (ao.kind == LSP_ATTACK_BIM && restarts != 1)
    /* BIM starts at the input itself: every restart would repeat the first */
    cli_warn(k_cmd, "--restarts does not apply to --attack bim (no random start: every "
             "restart would repeat the first): ignored; pgd restarts from random starts");
  ao.restarts = ao.kind == LSP_ATTACK_BIM ? 1 : (size_t)restarts;
  ao.seed = (unsigned long)seed;
  ao.batch = cli_has(opts, "batch") ? (size_t)batch : 0; /* 0: the library's default */
  ao.step_size = step;
  ao.full_steps = cli_has(opts, "full-steps");
  if (cli_has(opts, "smoothing")) {
    if (ao.loss != LSP_ALOSS_SMOOTHED) {
      rc = cli_error(k_cmd, CLI_USAGE, "--smoothing goes with --loss smoothed");
      goto out;
    }
    ao.smoothing_given = 1;
    if ((rc = cli_get_double(k_cmd, opts, "smoothing", 0.0, 0.0, 1.0,
                             &ao.smoothing.eps)))
      goto out;
  }
  const char *conv = cli_str(opts, "convention", NULL);
  lsp_ls_convention conv_v = LSP_LS_UNIFORM;
  if (conv && ao.loss != LSP_ALOSS_SMOOTHED) {
    rc = cli_error(k_cmd, CLI_USAGE, "--convention goes with --loss smoothed");
    goto out;
  }
  if (conv && lsp_ls_convention_parse(conv, &conv_v) != LSP_OK) {
    rc = cli_error(k_cmd, CLI_USAGE, "--convention: '%s' is not uniform or t2t", conv);
    goto out;
  }
  const char *tname = cli_str(opts, "target", NULL);
  if (tname && !targeted && ao.kind == LSP_ATTACK_FGSM) targeted = 1;
  if (targeted || tname) {
    if (!tname || strcmp(tname, "least-likely") == 0) {
      ao.target = LSP_TARGET_LEAST_LIKELY;
    } else {
      long t;
      char why[128];
      if (cli_parse_long(tname, 0, 1000000, &t, why, sizeof why)) {
        rc =
            cli_error(k_cmd, CLI_USAGE,
                      "--target: %s (give least-likely or a class index)", why);
        goto out;
      }
      ao.target = (int)t;
    }
  }
  if (ao.loss == LSP_ALOSS_DLR && ao.target != LSP_TARGET_NONE) {
    /* a target's DLR, −(z_t − max_{j≠t} z_j)/(z_π1 − z_π3), is constant
     * wherever the target ranks third */
    rc = cli_error(k_cmd, CLI_USAGE,
                   "--loss dlr is untargeted (on a target it is flat where "
                   "the target ranks third); use --attack apgd-t for the "
                   "targeted DLR");
    goto out;
  }
  const int checks = cli_has(opts, "checks");
  if (checks && (ao.kind == LSP_ATTACK_FGSM || ao.target != LSP_TARGET_NONE ||
                 (aa && ao.kind != LSP_ATTACK_AUTOATTACK))) {
    rc = cli_error(k_cmd, CLI_USAGE,
                   "--checks needs --attack bim, pgd (untargeted) or "
                   "autoattack");
    goto out;
  }
  /* OpenBLAS at one thread: a GEMM split among several threads rounds
   * differently for each count, and the numbers must not depend on the
   * machine. The attacks share their batches among lsprobe's threads
   * instead. */
  cli_threads(threads, 1);
  cli_interrupt_install();

  /* models and data */
  const char *mpath = cli_str(opts, "model", NULL),
             *fpath = cli_str(opts, "transfer-from", NULL);
  const char *adv_path = cli_str(opts, "adv-out", NULL);
  lsp_model *m = NULL, *m0 = NULL;
  attack_inputs in;
  memset(&in, 0, sizeof in);
  lsp_attack_result res, fg, tr, pg;
  memset(&res, 0, sizeof res);
  memset(&fg, 0, sizeof fg);
  memset(&tr, 0, sizeof tr);
  memset(&pg, 0, sizeof pg);
  float *adv = NULL;
  int st;
  if ((st = cli_model_load(k_cmd, mpath, &m))) {
    rc = cli_lib_error(k_cmd, st);
    goto done;
  }
  if (fpath && (st = cli_model_load(k_cmd, fpath, &m0))) {
    rc = cli_lib_error(k_cmd, st);
    goto done;
  }
  if ((rc = cmd_attack_load_inputs(opts, m, mpath, &in)) ||
      (rc = cmd_attack_check_fit(m, mpath, &in)) ||
      (m0 && (rc = cmd_attack_check_fit(m0, fpath, &in))))
    goto done;
  if (ao.target >= 0 && (size_t)ao.target >= m->out_dim) {
    rc = cli_error(k_cmd, CLI_USAGE, "--target: class %d is outside [0, %zu)",
                   ao.target, m->out_dim);
    goto done;
  }
  /* --smoothing or --convention alone: the other from the model's training
   * record (the library takes both from it when neither is given) */
  if (ao.loss == LSP_ALOSS_SMOOTHED && (ao.smoothing_given || conv)) {
    const lsp_model *src = m0 ? m0 : m;
    if (!ao.smoothing_given) {
      if (!src->meta.trained) {
        rc = cli_error(k_cmd, CLI_USAGE,
                       "--convention: %s records no training smoothing; give --smoothing too",
                       m0 ? fpath : mpath);
        goto done;
      }
      ao.smoothing.eps = src->meta.smoothing.eps;
      ao.smoothing_given = 1;
    }
    ao.smoothing.convention = conv ? conv_v
                              : src->meta.trained ? src->meta.smoothing.convention
                                                  : LSP_LS_UNIFORM;
  }
  ao.lo = in.lo;
  ao.hi = in.hi;
  char note[1200];
  if (lsp_attack_eps_range_note("--eps", eps, neps, in.lo, in.hi, note, sizeof note))
    cli_warn(k_cmd, "%s", note);
  if (adv_path) {
    if (!(adv = malloc(in.n * in.dim * sizeof *adv))) {
      rc = cli_error(k_cmd, CLI_DATA,
                     "out of memory for the adversarial inputs");
      goto done;
    }
    ao.adv = adv;
    ao.adv_point = neps - 1;
  }
  progress_state ps = {lsp_now_s(), 0.0, isatty(2), 0};
  ao.progress = cmd_attack_progress;
  ao.user = &ps;

  /* the requested attack; with --transfer-from it is crafted on M0 */
  st = lsp_attack_run(m0 ? m0 : m, m0 ? m : NULL, in.x, in.y, in.n, in.dim, eps,
                      neps, &ao, &res);
  lsp_mask_report rep;
  if (st == LSP_OK && checks) {
    /* white-box FGSM and PGD/BIM on M; the transfer (if any) is `res` */
    lsp_attack_opts fo = ao;
    fo.kind = LSP_ATTACK_FGSM;
    fo.adv = NULL;
    st = lsp_attack_run(m, NULL, in.x, in.y, in.n, in.dim, eps, neps, &fo, &fg);
    if (st == LSP_OK && m0) {
      tr = res;
      memset(&res, 0, sizeof res);
      fo = ao;
      fo.adv = NULL;
      st = lsp_attack_run(m, NULL, in.x, in.y, in.n, in.dim, eps, neps, &fo,
                          &res);
    }
    if (st == LSP_OK && aa) {
      /* autoattack: the first-order checks need a PGD sweep too */
      fo = ao;
      fo.kind = LSP_ATTACK_PGD;
      fo.adv = NULL;
      st = lsp_attack_run(m, NULL, in.x, in.y, in.n, in.dim, eps, neps, &fo,
                          &pg);
    }
    if (st == LSP_OK)
      st = lsp_attack_checklist(&fg, aa ? &pg : &res, m0 ? &tr : NULL, NULL,
                                &rep);
    if (st == LSP_OK && aa) st = lsp_attack_checklist_aa(&res, &fg, NULL, &rep);
  }
  if (ps.printed && ps.tty) fputc('\n', stderr);
  if (st == LSP_EDATA) { /* name the model whose logits were not finite */
    const char *msg = lsp_errmsg();
    if (strncmp(msg, "scoring: ", 9) == 0) lsp_fail_prefix(st, mpath);
    else if (strncmp(msg, "crafting: ", 10) == 0) lsp_fail_prefix(st, fpath ? fpath : mpath);
  }
  if (st) {
    rc = cli_lib_error(k_cmd, st);
    goto done;
  }
  if (adv_path) {
    size_t shape[4] = {in.n, in.shape[1], in.shape[2], in.shape[3]};
    if ((st = lsp_npy_write(adv_path, LSP_DT_F32, in.ndim, shape, adv))) {
      rc = cli_lib_error(k_cmd, st);
      goto done;
    }
  }
  const lsp_attack_result *main_r = checks && m0 ? &tr : &res;
  if (cli_has(opts, "json")) {
    lsp_json j;
    lsp_json_init(&j, stdout, 0);
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, "model", mpath);
    lsp_json_key_str(&j, "transfer_from", fpath);
    lsp_json_key_str(&j, "data", in.name);
    if (in.have_splits)
      lsp_json_key_str(&j, "split", cli_str(opts, "split", "test"));
    lsp_json_key_int(&j, "threads", lsp_threads_get());
    lsp_attack_result_json(&j, main_r, 0);
    if (checks) {
      lsp_json_key(&j, "white_box_fgsm");
      lsp_attack_result_json(&j, &fg, 1);
      if (m0) {
        lsp_json_key(&j, "white_box");
        lsp_attack_result_json(&j, &res, 1);
      }
      if (aa) {
        lsp_json_key(&j, "white_box_pgd");
        lsp_attack_result_json(&j, &pg, 1);
      }
      lsp_json_key(&j, "masking");
      lsp_attack_checklist_json(&j, &rep);
    }
    lsp_json_obj_end(&j);
    if (lsp_json_finish(&j)) {
      rc = cli_error(k_cmd, CLI_DATA, "writing the JSON to stdout failed");
      goto done;
    }
  } else {
    cmd_attack_print(main_r, mpath, fpath);
    if (checks) {
      printf("\n");
      cmd_attack_print(&fg, mpath, NULL);
      if (m0) {
        printf("\n");
        cmd_attack_print(&res, mpath, NULL);
      }
      if (aa) {
        printf("\n");
        cmd_attack_print(&pg, mpath, NULL);
      }
      printf("\n");
      cmd_attack_print_checks(&rep);
    }
    if (adv_path)
      printf("adversarial inputs at eps %g written to %s\n", eps[neps - 1],
             adv_path);
  }
  rc = CLI_OK;
done:
  lsp_attack_result_free(&res);
  lsp_attack_result_free(&fg);
  lsp_attack_result_free(&tr);
  lsp_attack_result_free(&pg);
  free(adv);
  cmd_attack_inputs_free(&in);
  lsp_model_free(m);
  lsp_model_free(m0);
out:
  free(eps);
  return rc;
}
