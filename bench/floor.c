/*
 * floor: the least CPU any cJSON-based forwarder spends per event, the
 * reference of bench/run: cJSON_ParseWithLength of each page, a walk that
 * reads every member of every event (its name and its value), and
 * cJSON_Delete. The pages are read into memory first; only the parse loop
 * is timed (getrusage, user + system).
 *
 *   floor PAGE.json...   ->   "cpu_us N events M pages P bytes B"
 */
#include <sys/resource.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

struct page {
	char	*data;
	size_t	 len;
};

static uint64_t	 sink;

static void
walk(const cJSON *j)
{
	for (; j != NULL; j = j->next) {
		if (j->string != NULL)
			sink += (unsigned char)j->string[0];
		if (cJSON_IsString(j))
			sink += (unsigned char)j->valuestring[0];
		else if (cJSON_IsNumber(j))
			sink += (uint64_t)j->valuedouble;
		else if (cJSON_IsBool(j))
			sink += cJSON_IsTrue(j);
		else if (j->child != NULL)
			walk(j->child);
	}
}

static int64_t
cpu_us(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int
main(int argc, char *argv[])
{
	struct page	*pages;
	FILE		*fp;
	cJSON		*root, *ev;
	int64_t		 t0, t1;
	long		 events = 0, size;
	size_t		 bytes = 0;
	int		 i;

	if (argc < 2) {
		fprintf(stderr, "usage: floor PAGE.json...\n");
		return 2;
	}
	if ((pages = calloc(argc, sizeof(*pages))) == NULL)
		return 1;
	for (i = 1; i < argc; i++) {
		if ((fp = fopen(argv[i], "rb")) == NULL ||
		    fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 ||
		    fseek(fp, 0, SEEK_SET) != 0 ||
		    (pages[i].data = malloc(size + 1)) == NULL ||
		    fread(pages[i].data, 1, size, fp) != (size_t)size) {
			perror(argv[i]);
			return 1;
		}
		fclose(fp);
		pages[i].data[size] = '\0';
		pages[i].len = size;
		bytes += size;
	}
	t0 = cpu_us();
	for (i = 1; i < argc; i++) {
		root = cJSON_ParseWithLength(pages[i].data, pages[i].len);
		if (root == NULL) {
			fprintf(stderr, "%s: not JSON\n", argv[i]);
			return 1;
		}
		cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(root,
		    "data_list")) {
			walk(ev->child);
			events++;
		}
		cJSON_Delete(root);
	}
	t1 = cpu_us();
	printf("cpu_us %lld events %ld pages %d bytes %zu (%llu)\n",
	    (long long)(t1 - t0), events, argc - 1, bytes,
	    (unsigned long long)(sink & 1));
	return 0;
}
