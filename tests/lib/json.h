/* SPDX-License-Identifier: MIT */
/*
 * A tiny JSON reader for the tests: fields of one flat object as the CLI
 * prints it (--json), found by key.  Values are numbers, strings, true,
 * false, null and arrays of those; nested objects are searched through,
 * not parsed, so a key must be unique in the text.
 */
#ifndef VINTC_TEST_JSON_H
#define VINTC_TEST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Just after `"key":`, or NULL. */
const char *json_val(const char *json, const char *key);

/* The integer value of key; false if absent or not an integer. */
bool json_num(const char *json, const char *key, int64_t *out);

/* Start of element k of array key (no nested arrays), or NULL. */
const char *json_elem(const char *json, const char *key, size_t k);

/* Number of elements of array key, or -1 if there is no such array. */
long json_len(const char *json, const char *key);

/* Element k of array key as text, quotes stripped; false if absent. */
bool json_str(const char *json, const char *key, size_t k, char *buf, size_t size);

/* Array key holds the string s. */
bool json_has_str(const char *json, const char *key, const char *s);

/* Element k of array key is exactly s (true, false, null, a number). */
bool json_elem_is(const char *json, const char *key, size_t k, const char *s);

/* The same, or the test fails at file:line. */
int64_t json_must_num(const char *json, const char *key, const char *file, int line);
/* The "0x..." string value of key (not an array element). */
uint64_t json_must_hex(const char *json, const char *key, const char *file, int line);
/* A "0x..." element k of array key. */
uint64_t json_must_hex_elem(const char *json, const char *key, size_t k, const char *file,
			    int line);

#define NUM(json, key)		json_must_num((json), (key), __FILE__, __LINE__)
#define HEX(json, key)		json_must_hex((json), (key), __FILE__, __LINE__)
#define HEX_AT(json, key, k)	json_must_hex_elem((json), (key), (k), __FILE__, __LINE__)

#endif
