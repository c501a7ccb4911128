// The kernel's credentials of the process at the other end of a unix
// socket (SO_PEERCRED): what the peer was when it connected, which it
// cannot forge. Node has no API for it; platformd reads it through the
// socket's file descriptor to bound connections per uid.
//
//   peerCredentials(fd) -> { pid, uid, gid }   (throws on a bad descriptor)

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, const char *what, int code) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(code));
  napi_throw_error(env, "EPEERCRED", message);
  return NULL;
}

static napi_status set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  napi_status status = napi_create_double(env, value, &number);
  if (status != napi_ok) return status;
  return napi_set_named_property(env, object, name, number);
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    napi_throw_type_error(env, NULL, "peerCredentials(fd): one file descriptor");
    return NULL;
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "peerCredentials(fd): fd is not a file descriptor");
    return NULL;
  }
  struct ucred credentials;
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  if (length != sizeof credentials) return throw_errno(env, "getsockopt(SO_PEERCRED)", EINVAL);
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok || set_number(env, result, "pid", credentials.pid) != napi_ok ||
      set_number(env, result, "uid", credentials.uid) != napi_ok || set_number(env, result, "gid", credentials.gid) != napi_ok) {
    napi_throw_error(env, NULL, "peerCredentials: could not build the answer");
    return NULL;
  }
  return result;
}

NAPI_MODULE_INIT() {
  napi_value function;
  if (napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &function) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCredentials", function) != napi_ok) return NULL;
  return exports;
}
