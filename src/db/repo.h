/*
 * repo — what every repository function (the db/ ..._repo modules) answers: the outcome of one statement
 * or transaction, with the message in the caller's err buffer when it is REPO_ERROR.
 */
#ifndef CRAFTKIT_DB_REPO_H
#define CRAFTKIT_DB_REPO_H

/* On every repository function: ignoring an outcome has hidden real failures before. */
#define REPO_MUST_USE __attribute__((warn_unused_result))

typedef enum { REPO_OK = 0, REPO_NOT_FOUND, REPO_CONFLICT, REPO_ERROR } repo_status_t;

#endif
