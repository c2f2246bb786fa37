/* libFuzzer harness: the CLI's parsers for numbers and comma-separated
 * lists (every option value goes through these). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  char why[160];
  double d;
  long l;
  (void)cli_parse_double(s, -1e9, 1e9, &d, why, sizeof why);
  (void)cli_parse_long(s, -1000000, 1000000, &l, why, sizeof why);
  double *dl = NULL;
  long *ll = NULL;
  size_t n;
  if (cli_parse_double_list(s, 0, 1, &dl, &n, why, sizeof why) == 0) free(dl);
  if (cli_parse_long_list(s, 0, 1000, &ll, &n, why, sizeof why) == 0) free(ll);
  free(s);
  return 0;
}
