/* SPDX-License-Identifier: MIT */
/* The guest helpers' FIFOs (state_watch, cap_watch; guest/fifo-helper.ts): DIR/question and
 * DIR/answer, mode 0600; "ready" on stdout once they exist, then stdin and stdout are them. */
#ifndef CAPMATRIX_HELPER_FIFOS_H
#define CAPMATRIX_HELPER_FIFOS_H
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int use_fifos(const char *name, const char *dir)
{
	char question[4096], answer[4096];
	int fd;

	snprintf(question, sizeof(question), "%s/question", dir);
	snprintf(answer, sizeof(answer), "%s/answer", dir);
	if (mkfifo(question, 0600) || mkfifo(answer, 0600)) {
		fprintf(stderr, "%s: mkfifo in %s: %s\n", name, dir, strerror(errno));
		return -1;
	}
	printf("ready\n");
	fflush(stdout);
	fd = open(question, O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0)
		return -1;
	close(fd);
	fd = open(answer, O_WRONLY);
	if (fd < 0 || dup2(fd, 1) < 0)
		return -1;
	close(fd);
	return 0;
}
#endif
