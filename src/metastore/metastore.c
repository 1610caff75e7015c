/*
 * metastore.c - opening a metadata store by URL (contract in metastore.h).
 */
#include "metastore/metastore.h"

#include <stdlib.h>
#include <string.h>

#include "metastore/fault.h"
#include "util/status.h"

/* Backend constructors. Each takes the part of the URL after its scheme and
 * the URL as given (kept in ms->url for messages). Declared here rather than
 * in a header of their own because only this file may call them. */
int sqlite_metastore_open(struct metastore **out, const char *path, const char *url, int create);
int dynamodb_metastore_open(struct metastore **out, const char *table, const char *url, int create);

int metastore_open(struct metastore **out, const char *url, int create)
{
    int rc = 0;
    if (!url || !url[0]) {
        rc = err_set(CIRRUS_EINVALID, "metastore: empty URL");
    } else if (strncmp(url, "fault:", 6) == 0) {
        rc = fault_metastore_open_url(out, url, create);
    } else if (strncmp(url, "sqlite://", 9) == 0) {
        rc = sqlite_metastore_open(out, url + 9, url, create);
    } else if (strncmp(url, "sqlite:", 7) == 0) {
        rc = sqlite_metastore_open(out, url + 7, url, create);
    } else if (strncmp(url, "dynamodb://", 11) == 0) {
        rc = dynamodb_metastore_open(out, url + 11, url, create);
    } else {
        rc = err_set(CIRRUS_EINVALID,
                     "metastore %s: unknown URL (want sqlite:PATH or dynamodb://TABLE)", url);
    }
    return rc;
}

void metastore_close(struct metastore *ms)
{
    if (ms)
        ms->ops->close(ms);
}

void meta_items_free(struct meta_item *items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++) {
        free(items[i].sk);
        free(items[i].value);
    }
    free(items);
}
