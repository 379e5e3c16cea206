/*
** check.h: checks on what the caller puts into a request line or header,
** in plain C with no Lua (fuzzable). They keep the API key on the host the
** user configured and keep header injection out.
*/
#ifndef OPENAI_CHECK_H
#define OPENAI_CHECK_H

#include <stddef.h>

/*
** A raw request's url must be a path relative to the configured base URL.
** Returns NULL when acceptable, else a short reason, e.g. "must be a path
** starting with '/'". Refused: empty; not starting with '/'; starting with
** "//" (scheme-relative); anything that looks like a scheme ("x:" before
** the first '/'); any byte < 0x20 or 0x7f (CR, LF, NUL, TAB...), space,
** backslash, '@' before the query; a '#'; percent-encoded CR, LF, NUL or
** other control bytes (%00-%1f, %7f); percent-encoded '/' or '\' or '.'
** used to hide a dot segment; "." or ".." path segments (plain or
** percent-encoded); a '%' not followed by two hex digits.
** A '?' starts a query, which is allowed (same byte rules, '@' allowed there).
*/
const char *check_path(const char *s, size_t len);

/* an HTTP header name: 1 or more RFC 9110 tchar bytes. NULL or a reason */
const char *check_header_name(const char *s, size_t len);

/* an HTTP header value: no CR, LF or NUL (other bytes pass). NULL or a reason */
const char *check_header_value(const char *s, size_t len);

/* a path segment (a model id): non-empty, no NUL/CR/LF. NULL or a reason */
const char *check_segment(const char *s, size_t len);

/* percent-encode s as one path segment (RFC 3986 unreserved kept) into out,
** which must hold 3 * len + 1 bytes; returns the length written */
size_t check_escape_segment(const char *s, size_t len, char *out);

/* 1 when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF) */
int check_utf8(const char *s, size_t len);

/*
** Whether JSON text written by lua-cjson can be sent as it is: 1 when it is
** valid UTF-8, has no empty object "{}" (an empty Lua table that may have
** been meant as an array) and no number that 14 significant digits (cjson
** 2.1.0's precision) may have rounded: a number with an exponent or with 14
** or more digits. 0 means the caller takes its slow, exact path. Strings are
** skipped (the text is cjson's, so well formed); the test is conservative.
*/
int check_json_plain(const char *s, size_t len);

/* in JSON text, outside strings: *arrays = 1 when some "[" is followed (after
** white space) by "]", *objects likewise for "{" "}" (an empty array or
** object); a conservative scan, not a parser */
void check_json_empties(const char *s, size_t len, int *arrays, int *objects);

/* check_utf8 and check_json_empties over s (a response body): *utf8 as
** check_utf8 says, *objects as check_json_empties, *arrays the number of
** empty arrays (each "[" followed, after white space, by "]" outside
** strings). The structure in 64-byte steps under SSE2 (8-byte steps
** elsewhere), then UTF-8 once from the first byte >= 0x80 */
void check_json_scan(const char *s, size_t len, int *utf8, int *arrays, int *objects);

#endif
