/*
 * The config loader on any file: config_load() either returns a config
 * and no error, or NULL with at least one error, each a "FILE:LINE:COL:"
 * line without a control character.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* the variables the configs of tests/data/config name */
	setenv("HSS_TEST_AK", "AK-TESTVALUE", 1);
	setenv("HSS_TEST_SK", "SK-TESTVALUE", 1);
	setenv("HSS_TEST_TOKEN_VAR", "ST-TESTVALUE", 1);
	setenv("HSS_TEST_PASSWORD", "PW-TESTVALUE", 1);
	setenv("HSS_TEST_TOKEN", "TK-TESTVALUE", 1);
	setenv("HSS_TEST_EMPTY", "", 1);
	unsetenv("CREDENTIALS_DIRECTORY");
	fuzz_setup();
	return 0;
}

static void
check_lines(char **lines, size_t n, const char *path)
{
	size_t		 i;
	const char	*p;

	for (i = 0; i < n; i++) {
		if (strncmp(lines[i], path, strlen(path)) != 0) {
			fprintf(stderr, "fuzz_config: not about the file: "
			    "%s\n", lines[i]);
			abort();
		}
		for (p = lines[i]; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				fprintf(stderr, "fuzz_config: a control "
				    "character in: %s\n", lines[i]);
				abort();
			}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_diag	 diag;
	struct config		*cfg;
	char			 path[512];

	fuzz_write("hss.yaml", data, size, path, sizeof(path));
	cfg = config_load(path, &diag);
	if ((cfg == NULL) != (diag.nerrors > 0)) {
		fprintf(stderr, "fuzz_config: config %p with %zu errors\n",
		    (void *)cfg, diag.nerrors);
		abort();
	}
	check_lines(diag.errors, diag.nerrors, path);
	check_lines(diag.warnings, diag.nwarnings, path);
	config_free(cfg);
	config_diag_free(&diag);
	return 0;
}
