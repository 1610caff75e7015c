/*
 * sst_write.c - writes an SST file for `cirrus ingest` through the public
 * API alone (cirrus_sst_writer), as a user's program would: KEY<TAB>VALUE
 * lines on stdin (raw bytes, no escapes; keys in increasing order) become
 * the file PATH. Exit 0, or 1 with the library's message.
 *
 *   sst_write PATH < lines
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"

int main(int argc, char **argv)
{
    cirrus_sst_writer *w = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc;
    if (argc != 2) {
        fprintf(stderr, "usage: sst_write PATH < KEY<TAB>VALUE lines\n");
        return 2;
    }
    if ((rc = cirrus_sst_writer_open(&w, argv[1], NULL)) < 0)
        goto done;
    while (rc == 0 && (len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char *tab = memchr(line, '\t', (size_t)len);
        size_t k_len = tab ? (size_t)(tab - line) : (size_t)len;
        const char *val = tab ? tab + 1 : "";
        rc = cirrus_sst_writer_put(w, line, k_len, val, tab ? (size_t)len - k_len - 1 : 0);
    }
    if (rc == 0)
        rc = cirrus_sst_writer_finish(w);
done:
    if (rc < 0)
        fprintf(stderr, "sst_write: %s\n", cirrus_errmsg());
    cirrus_sst_writer_close(w);
    free(line);
    return rc < 0;
}
