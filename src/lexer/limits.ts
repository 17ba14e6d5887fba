// Linux's limits on a command line, which bound what from-native reads and to-native prints.

/** Linux's execve limit on one argument (MAX_ARG_STRLEN): no runnable command line has a longer one. */
export const MAX_ARG_CHARS = 128 * 1024;
/** More options than any QEMU command line has; bounds the work a hostile input can cause. */
export const MAX_ARG_COUNT = 65536;
