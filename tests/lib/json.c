// SPDX-License-Identifier: MIT
/* The tests' JSON reader (json.h): strstr on keys, no allocation. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "test.h"

const char *json_val(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? p + strlen(pat) : NULL;
}

bool json_num(const char *json, const char *key, int64_t *out)
{
	const char *p = json_val(json, key);
	char *end;

	if (!p)
		return false;
	*out = strtoll(p, &end, 10);
	return end != p && (*end == ',' || *end == '}');
}

const char *json_elem(const char *json, const char *key, size_t k)
{
	const char *p = json_val(json, key);
	bool in_str = false;

	if (!p || *p++ != '[' || *p == ']')
		return NULL;
	for (; *p && k; p++) {
		if (*p == '"')
			in_str = !in_str;
		else if (!in_str && *p == ',')
			k--;
		else if (!in_str && *p == ']')
			return NULL;
	}
	return k ? NULL : p;
}

long json_len(const char *json, const char *key)
{
	const char *p = json_val(json, key);
	bool in_str = false;
	long n = 1;

	if (!p || *p++ != '[')
		return -1;
	if (*p == ']')
		return 0;
	for (; *p; p++) {
		if (*p == '"')
			in_str = !in_str;
		else if (!in_str && *p == ',')
			n++;
		else if (!in_str && *p == ']')
			return n;
	}
	return -1;
}

bool json_str(const char *json, const char *key, size_t k, char *buf, size_t size)
{
	const char *p = json_elem(json, key, k);
	size_t n = 0;

	if (!p)
		return false;
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && *p != ']' && n + 1 < size)
		buf[n++] = *p++;
	buf[n] = '\0';
	return n > 0;
}

bool json_has_str(const char *json, const char *key, const char *s)
{
	char buf[64];

	for (size_t k = 0; json_str(json, key, k, buf, sizeof(buf)); k++)
		if (!strcmp(buf, s))
			return true;
	return false;
}

bool json_elem_is(const char *json, const char *key, size_t k, const char *s)
{
	char buf[64];

	return json_str(json, key, k, buf, sizeof(buf)) && !strcmp(buf, s);
}

int64_t json_must_num(const char *json, const char *key, const char *file, int line)
{
	int64_t v;

	if (!json_num(json, key, &v))
		test_fail(file, line, "no number \"%s\" in %.200s", key, json);
	return v;
}

uint64_t json_must_hex(const char *json, const char *key, const char *file, int line)
{
	const char *p = json_val(json, key);
	char *end;
	uint64_t v;

	if (!p || strncmp(p, "\"0x", 3))
		test_fail(file, line, "no hex string \"%s\" in %.200s", key, json);
	v = strtoull(p + 3, &end, 16);
	if (end == p + 3 || *end != '"')
		test_fail(file, line, "\"%s\": '%.20s' is not hex", key, p);
	return v;
}

uint64_t json_must_hex_elem(const char *json, const char *key, size_t k, const char *file,
			    int line)
{
	char buf[64], *end;
	uint64_t v;

	if (!json_str(json, key, k, buf, sizeof(buf)) || strncmp(buf, "0x", 2))
		test_fail(file, line, "%s[%zu]: no hex string in %.200s", key, k, json);
	v = strtoull(buf, &end, 16);
	if (*end)
		test_fail(file, line, "%s[%zu]: '%s' is not hex", key, k, buf);
	return v;
}
