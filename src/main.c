/* hss-forwarder: start-up. Replaced by the full daemon in the next commit. */
#include "autoconf.h"

#include <stdio.h>

#include "log.h"
#include "util.h"

int
main(void)
{
	printf("%s\n", PACKAGE_STRING);
	return 0;
}
