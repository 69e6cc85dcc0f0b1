/*
 * tu — what every Check test binary shares (unit, integration, golden): running a suite.
 *
 * Threads: the main thread. Memory: tu_run frees the runner (and with it the suite).
 */
#ifndef CRAFTKIT_TESTS_TU_H
#define CRAFTKIT_TESTS_TU_H

#include <check.h>

/* Runs every test of s (CK_NORMAL output) and returns EXIT_SUCCESS or EXIT_FAILURE, for main. */
int tu_run(Suite *s);

#endif
