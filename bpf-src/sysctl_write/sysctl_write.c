// SPDX-License-Identifier: MIT
/* sysctl_write: writes a sysctl as the cell's uid and capabilities, then reads it back.
 *   sysctl_write NAME VALUE      e.g. kernel.unprivileged_bpf_disabled 2
 * For the talk's "1 cannot be undone" (l.401-420): bpf_unpriv_handler() refuses any write but 1
 * once the value is 1, even from root. No BPF object: what is measured is the sysctl's handler.
 * `ok` = the value written reads back. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "capmatrix_result.h"

int main(int argc, char **argv)
{
	char path[256], back[32] = "", extra[96];
	ssize_t n;
	int fd, err;

	cm_init();
	if (argc != 3) {
		cm_result(EINVAL, "open", NULL, "usage: sysctl_write NAME VALUE");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/sys/%s", argv[1]);
	for (char *p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, argv[2], strlen(argv[2])) < 0) {
		err = errno;
		cm_result(err, "sysctl", NULL, "%s %s: %s", fd < 0 ? "open" : "write", path, strerror(err));
		return 1;
	}
	close(fd);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, back, sizeof(back) - 1);
	back[n > 0 ? n : 0] = 0;
	back[strcspn(back, "\n")] = 0;
	snprintf(extra, sizeof(extra), "\"readBack\":\"%s\"", back);
	if (strcmp(back, argv[2]) != 0) {
		cm_result(ENODATA, "run", extra, "wrote %s to %s, read back \"%s\"", argv[2], path, back);
		return 1;
	}
	cm_result(0, "run", extra, "%s: wrote %s and read it back", path, argv[2]);
	return 0;
}
