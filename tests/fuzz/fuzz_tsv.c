/* cirrus-test-libs: db */
/*
 * fuzz_tsv.c - the KEY<TAB>VALUE lines of `cirrus load` (cli_kv_lines and
 * load_line in src/cli/cli.c, escapes in src/cli/escape.c; both compiled in:
 * the CLI is not a library).
 *
 * Properties:
 *   - the input as a load file either becomes a batch of exactly one put
 *     per line (the last line may lack its newline) or is refused with a
 *     usage error (CLI_ERROR when the engine refuses a key), and then the batch is not kept
 * (LeakSanitizer);
 *   - differential: pairs taken from the input, written as lines the way
 *     `scan` prints them (escape_encode, TAB, newline), load into a batch
 *     equal in count and bytes to one built with cirrus_batch_put directly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/cli.c"
#include "../../src/cli/escape.c"

#include "fuzz_cli_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        if (data[i] == '\n')
            n++;
    return n + (size > 0 && data[size - 1] != '\n');
}

/* cli_kv_lines's callback: the line into the batch arg. */
static int batch_line(struct cli *c, const void *k, size_t k_len, const void *v, size_t v_len,
                      size_t line_no, void *arg)
{
    int rc = cirrus_batch_put(arg, k, k_len, v, v_len);
    (void)line_no;
    return rc < 0 ? cli_fail(c, rc) : CLI_OK;
}

/* The whole input parsed as one load file into b. */
static int load_all(struct cli *c, cirrus_batch *b, char *data, size_t len)
{
    size_t used = 0, line_no = 0;
    int rc = cli_kv_lines(c, data, len, 1, &used, &line_no, batch_line, b);
    FUZZ_CHECK(rc != CLI_OK || used == len);
    return rc;
}

static void check_raw(const uint8_t *data, size_t size)
{
    struct cli c = {NULL, NULL, "load", "[FILE]", 0, CIRRUS_LOG_WARN};
    cirrus_batch *b = NULL;
    char *copy = fuzz_malloc(size);
    if (size)
        memcpy(copy, data, size);
    FUZZ_CHECK(cirrus_batch_new(&b) == 0);
    int rc = load_all(&c, b, copy, size);
    /* CLI_ERROR: the engine refused a line (an empty key) */
    FUZZ_CHECK(rc == CLI_OK || rc == CLI_USAGE || rc == CLI_ERROR);
    if (rc == CLI_OK)
        FUZZ_CHECK(cirrus_batch_count(b) == count_lines(data, size));
    cirrus_batch_free(b);
    free(copy);
}

static void check_pairs(const uint8_t *data, size_t size)
{
    struct cli c = {NULL, NULL, "load", "[FILE]", 0, CIRRUS_LOG_WARN};
    struct fuzz_reader in = {data, data + size};
    cirrus_batch *want = NULL, *got = NULL;
    char *text = fuzz_malloc(ESCAPE_MAX_LEN(size) + 2 * size + 2);
    size_t len = 0, n = 0;
    FUZZ_CHECK(cirrus_batch_new(&want) == 0 && cirrus_batch_new(&got) == 0);
    while (in.p < in.end) {
        size_t k_len, v_len;
        const uint8_t *k = fuzz_take_bytes(&in, 64, &k_len);
        const uint8_t *v = fuzz_take_bytes(&in, 200, &v_len);
        if (k_len == 0)
            continue; /* the engine refuses empty keys */
        if (cirrus_batch_put(want, k, k_len, v, v_len) < 0)
            continue;
        len += escape_encode(text + len, k, k_len);
        text[len++] = '\t';
        len += escape_encode(text + len, v, v_len);
        text[len++] = '\n';
        n++;
    }
    FUZZ_CHECK(load_all(&c, got, text, len) == CLI_OK);
    FUZZ_CHECK(cirrus_batch_count(got) == n && cirrus_batch_count(want) == n);
    FUZZ_CHECK(cirrus_batch_bytes(got) == cirrus_batch_bytes(want));
    cirrus_batch_free(want);
    cirrus_batch_free(got);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_stderr();
    check_raw(data, size);
    check_pairs(data, size);
    return 0;
}
