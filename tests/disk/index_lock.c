/* Holds the write lock of a disk cache's LMDB index for a while, as a commit stalled on a
 * slow disk would: the running ferry's writer thread waits, and its write queue fills.
 * Prints "locked" once it holds the lock.
 *
 *   index_lock INDEX_DIRECTORY SECONDS
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: index_lock INDEX_DIRECTORY SECONDS\n");
    return 2;
  }
  MDB_env* env = NULL;
  MDB_txn* txn = NULL;
  int rc = mdb_env_create(&env);
  if (rc == 0)
    rc = mdb_env_set_maxdbs(env, 3);
  if (rc == 0)
    rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0640);
  if (rc == 0)
    rc = mdb_txn_begin(env, NULL, 0, &txn);
  if (rc != 0) {
    fprintf(stderr, "index_lock %s: %s\n", argv[1], mdb_strerror(rc));
    return 1;
  }
  printf("locked\n");
  fflush(stdout);
  sleep((unsigned)atoi(argv[2]));
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return 0;
}
