/*
 * fault_spec.c - fault: URLs (see fault_spec.h).
 */
#include "util/fault_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"

int fault_spec_split_url(const char *url, char **inner_out, char **spec_out)
{
    int rc = 0;
    char *inner = NULL, *spec = NULL, *q;
    *inner_out = *spec_out = NULL;
    if (strncmp(url, FAULT_SPEC_SCHEME, strlen(FAULT_SPEC_SCHEME)) == 0)
        url += strlen(FAULT_SPEC_SCHEME);
    if (!(inner = strdup(url))) {
        rc = err_nomem();
        goto done;
    }
    if ((q = strrchr(inner, '?')) != NULL)
        *q++ = '\0';
    if (!(spec = strdup(q ? q : ""))) {
        rc = err_nomem();
        goto done;
    }
    *inner_out = inner;
    *spec_out = spec;
    inner = spec = NULL;
done:
    free(spec);
    free(inner);
    return rc;
}

int fault_spec_parse_url(const char *url, char **inner_out, struct fault_config *cfg)
{
    int rc;
    char *inner = NULL, *spec = NULL;
    *inner_out = NULL;
    if ((rc = fault_spec_split_url(url, &inner, &spec)) < 0)
        goto done;
    fault_config_default(cfg);
    if ((rc = fault_config_parse(cfg, spec)) < 0)
        goto done;
    *inner_out = inner;
    inner = NULL;
done:
    free(spec);
    free(inner);
    return rc;
}

char *fault_spec_wrapped_url(const char *inner_url, const char *spec)
{
    const char *inner = inner_url ? inner_url : "";
    int has_spec = spec && *spec;
    size_t n = strlen(FAULT_SPEC_SCHEME) + strlen(inner) + (has_spec ? 1 + strlen(spec) : 0) + 1;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%s%s%s%s", FAULT_SPEC_SCHEME, inner, has_spec ? "?" : "",
                 has_spec ? spec : "");
    return url;
}
