/*
 * fault_spec.c - fault specs from URLs and the environment (see
 * fault_spec.h).
 */
#include "util/fault_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"

#define PREFIX "fault:"

int fault_spec_parse_url(const char *url, char **inner_out, struct fault_config *cfg)
{
    int rc = 0;
    char *inner = NULL, *q;
    *inner_out = NULL;
    if (strncmp(url, PREFIX, strlen(PREFIX)) == 0)
        url += strlen(PREFIX);
    if (!(inner = strdup(url))) {
        rc = err_nomem();
        goto done;
    }
    fault_config_default(cfg);
    if ((q = strrchr(inner, '?')) != NULL) {
        *q = '\0';
        if ((rc = fault_config_parse(cfg, q + 1)) < 0)
            goto done;
    }
    *inner_out = inner;
    inner = NULL;
done:
    free(inner);
    return rc;
}

int fault_spec_from_env(const char *var, struct fault_config *cfg)
{
    int rc;
    const char *spec = getenv(var);
    if (!spec || !*spec)
        spec = getenv("CIRRUS_FAULT");
    if (!spec || !*spec)
        return 0;
    fault_config_default(cfg);
    if ((rc = fault_config_parse(cfg, spec)) < 0)
        return rc;
    return 1;
}

char *fault_spec_wrapped_url(const char *inner_url)
{
    const char *inner = inner_url ? inner_url : "";
    size_t n = strlen(PREFIX) + strlen(inner) + 1;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%s%s", PREFIX, inner);
    return url;
}
