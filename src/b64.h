/*
** b64.h: strict standard base64 (RFC 4648, section 4: A-Z a-z 0-9 + /, '='
** padding to a multiple of 4 characters) and little-endian IEEE 754 4-byte
** floats, as the embeddings endpoint returns them with encoding_format
** "base64", and the encoder for the other way (data: URLs of pictures).
** Plain C, no Lua.
*/
#ifndef OPENAI_B64_H
#define OPENAI_B64_H

#include <stddef.h>

/* the exact number of bytes `len` characters of base64 decode to (padding
** counted from the last two characters); 0 when len is not a multiple of 4 */
size_t b64_decoded_len(const char *in, size_t len);

/* decode in[0..len) into out, which has room for b64_decoded_len(in, len)
** bytes; *out_len gets the bytes written. NULL on success, else a fixed
** reason. `final` says in ends the text: only then may it end with '='
** (a decoder fed in pieces passes 0 for every piece but the last; each piece
** but the last must be a multiple of 4 characters long). Refused: a length
** that is not a multiple of 4, a character outside the alphabet, '='
** anywhere but the last one or two places, and unused bits of the last
** character that are not zero (a second spelling of the same bytes). */
const char *b64_decode(const char *in, size_t len, int final, unsigned char *out,
                       size_t *out_len);

/* the number of characters b64_encode writes for len bytes (padded to a
** multiple of 4); 0 when that does not fit in a size_t */
size_t b64_encoded_len(size_t len);

/* encode in[0..len) into out, which has room for b64_encoded_len(len)
** characters (no NUL is written); returns the characters written */
size_t b64_encode(const unsigned char *in, size_t len, char *out);

/* the float in 4 little-endian bytes, whatever the machine's byte order */
float b64_f32le(const unsigned char *p);

#endif
