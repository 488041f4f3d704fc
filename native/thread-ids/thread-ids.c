/*
 * thread-ids - sets the effective uid or gid of the calling thread alone.
 *
 * Linux keeps credentials per thread; glibc's seteuid() and setegid() (and
 * so Node's process.seteuid/setegid) make every thread of the process
 * follow by signalling each one and waiting for all, which in a Node
 * process costs hundreds of microseconds per call. The raw system calls
 * change only the caller. The delivery agents (local, virtual) switch
 * their main thread for a synchronous section of file system calls and
 * back, so libuv's pool threads keep root's ids throughout.
 * Loaded by src/util/thread-ids.ts; built at npm install by
 * scripts/build-native.mjs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(SYS_setresuid32)
#define SETRESUID SYS_setresuid32
#define SETRESGID SYS_setresgid32
#else
#define SETRESUID SYS_setresuid
#define SETRESGID SYS_setresgid
#endif

/* Reads the one id argument; throws and answers -1 when it is not a number in range. */
static int64_t id_argument(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t id = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int64(env, argv[0], &id) != napi_ok || id < 0 || id > 0xfffffffe) {
    napi_throw_type_error(env, NULL, "an id from 0 to 4294967294 is required");
    return -1;
  }
  return id;
}

static napi_value set_ids(napi_env env, napi_callback_info info, long call, const char *name) {
  int64_t id = id_argument(env, info);
  if (id < 0) return NULL;
  /* -1 leaves the real and saved ids (root's) as they are, so root can be taken back. */
  if (syscall(call, -1, (long)id, -1) != 0) {
    char text[128];
    snprintf(text, sizeof text, "%s(%lld): %s", name, (long long)id, strerror(errno));
    napi_throw_error(env, NULL, text);
  }
  return NULL;
}

static napi_value set_euid(napi_env env, napi_callback_info info) {
  return set_ids(env, info, SETRESUID, "setresuid");
}

static napi_value set_egid(napi_env env, napi_callback_info info) {
  return set_ids(env, info, SETRESGID, "setresgid");
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "setThreadEuid", NAPI_AUTO_LENGTH, set_euid, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "setThreadEuid", fn);
  if (napi_create_function(env, "setThreadEgid", NAPI_AUTO_LENGTH, set_egid, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "setThreadEgid", fn);
  return exports;
}
