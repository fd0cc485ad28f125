// Typed wrappers for libcurl's variadic entry points (`curl_easy_setopt`, `curl_easy_getinfo`, `curl_multi_setopt`),
// which do not import into Swift, and the few pieces of socket-address handling that are simpler in C.
// Every symbol here is prefixed `ccurl_`.
#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>
#include <stddef.h>

// MARK: one-time global state

/// `curl_global_init(CURL_GLOBAL_DEFAULT)`: `CURL_GLOBAL_DEFAULT` is a compound macro Swift cannot import.
CURLcode ccurl_global_init_default(void);

// MARK: curl_easy_setopt, one function per argument type

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
/// For string options (libcurl copies the string) and `struct curl_slist *` options (libcurl does not copy).
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value);
/// Blob options (`CURLOPT_CAINFO_BLOB`, `CURLOPT_SSLCERT_BLOB`, `CURLOPT_SSLKEY_BLOB`); libcurl copies the bytes.
CURLcode ccurl_easy_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length);
/// `CURLOPT_WRITEFUNCTION` and `CURLOPT_HEADERFUNCTION` share this signature.
CURLcode ccurl_easy_setopt_write_function(CURL *handle, CURLoption option, curl_write_callback callback);
CURLcode ccurl_easy_setopt_prereq_function(CURL *handle, curl_prereq_callback callback);
CURLcode ccurl_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback callback);

// MARK: curl_easy_getinfo, one function per result type

CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
/// The string belongs to the handle and lives until it is cleaned up; may be set to NULL.
CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value);

// MARK: curl_multi_setopt

CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
/// `CURLMOPT_SOCKETDATA` and `CURLMOPT_TIMERDATA`.
CURLMcode ccurl_multi_setopt_pointer(CURLM *multi, CURLMoption option, void *value);
CURLMcode ccurl_multi_setopt_socket_function(CURLM *multi, curl_socket_callback callback);
CURLMcode ccurl_multi_setopt_timer_function(CURLM *multi, curl_multi_timer_callback callback);

// MARK: sockets for CURLOPT_OPENSOCKETFUNCTION

/// Writes the numeric address of `address` (dotted quad or RFC 5952 IPv6 text) into `buffer` and its port into `port`.
/// Returns 0, or -1 for a family other than AF_INET/AF_INET6 or a buffer that is too small.
int ccurl_sockaddr_format(const struct curl_sockaddr *address, char *buffer, size_t buffer_length, int *port);

/// Opens the socket libcurl asked for, close-on-exec; returns CURL_SOCKET_BAD on failure.
curl_socket_t ccurl_open_socket(const struct curl_sockaddr *address);

#endif
