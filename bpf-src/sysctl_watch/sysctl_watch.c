// SPDX-License-Identifier: MIT
/* sysctl_watch: the guest agent's long-lived helper (no BPF). It opens every readable sysctl under
 * PROC/sys/{kernel,net/core,vm,user} once, except the names given after PROC, and for each line on
 * stdin reads them all again (pread at offset 0 asks the kernel anew) and prints
 * "name<TAB>value" for each value that changed since its last answer (all of them the first time),
 * whitespace folded, then an empty line. One syscall a sysctl: a few milliseconds under TCG where
 * node's reads cost hundreds.
 * Usage: sysctl_watch PROC [EXCLUDED_NAME...] */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SYSCTLS 4096
#define VALUE_MAX 4096

struct sysctl {
	int fd;
	char *name;
	char *value;
};

static struct sysctl sysctls[MAX_SYSCTLS];
static int count;
static char **excluded;
static int n_excluded;

/* Reads fd from offset 0 into out (VALUE_MAX), whitespace folded; -1 when unreadable. */
static int read_folded(int fd, char *out)
{
	static char raw[VALUE_MAX];
	ssize_t n = pread(fd, raw, sizeof(raw) - 1, 0);
	int o = 0, space = 0;

	if (n < 0)
		return -1;
	for (ssize_t i = 0; i < n; i++) {
		if (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n') {
			space = o > 0;
			continue;
		}
		if (space && o < VALUE_MAX - 2)
			out[o++] = ' ';
		space = 0;
		if (o < VALUE_MAX - 1)
			out[o++] = raw[i];
	}
	out[o] = 0;
	return 0;
}

static int is_excluded(const char *name)
{
	for (int i = 0; i < n_excluded; i++)
		if (!strcmp(excluded[i], name))
			return 1;
	return 0;
}

static void walk(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && count < MAX_SYSCTLS) {
		char path[4096], child[1024], value[VALUE_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(child, sizeof(child), "%s.%s", name, e->d_name);
		if (e->d_type == DT_DIR) {
			walk(path, child);
			continue;
		}
		if (is_excluded(child))
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (read_folded(fd, value)) {
			close(fd);
			continue;
		}
		sysctls[count].fd = fd;
		sysctls[count].name = strdup(child);
		sysctls[count].value = NULL;
		count++;
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	static const char *trees[][2] = { { "kernel", "kernel" }, { "net/core", "net.core" }, { "vm", "vm" }, { "user", "user" } };
	char line[256], value[VALUE_MAX], dir[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: sysctl_watch PROC [EXCLUDED_NAME...]\n");
		return 2;
	}
	excluded = argv + 2;
	n_excluded = argc - 2;
	for (size_t t = 0; t < sizeof(trees) / sizeof(trees[0]); t++) {
		snprintf(dir, sizeof(dir), "%s/sys/%s", argv[1], trees[t][0]);
		walk(dir, trees[t][1]);
	}
	while (fgets(line, sizeof(line), stdin)) {
		for (int i = 0; i < count; i++) {
			if (read_folded(sysctls[i].fd, value))
				continue;
			if (sysctls[i].value && !strcmp(sysctls[i].value, value))
				continue;
			free(sysctls[i].value);
			sysctls[i].value = strdup(value);
			printf("%s\t%s\n", sysctls[i].name, value);
		}
		printf("\n");
		fflush(stdout);
	}
	return 0;
}
