// SPDX-License-Identifier: MIT
/*
 * tools/check_layers.sh on a tiny fake tree: two or three one-function C
 * files compiled with $CC (cc by default) into TREE/obj/, the sources kept
 * beside them, and the checker run with -C TREE.  An upward call, a call
 * between sim and kvm or a private header of another folder must fail and
 * name the culprit; a downward call must pass.  Found from the repository
 * root, where `make check` runs the tests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define CHECKER "tools/check_layers.sh"

struct tree {
	char dir[64];
};

static void tree_new(struct tree *t)
{
	if (access(CHECKER, R_OK))
		test_skip("no %s here: run the tests from the repository root", CHECKER);
	snprintf(t->dir, sizeof(t->dir), "/tmp/vintc-layers-XXXXXX");
	if (!mkdtemp(t->dir))
		test_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
}

static void tree_free(struct tree *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	ASSERT_EQ(system(cmd), 0);
}

/* `mkdir -p` of the folder holding TREE/path. */
static void mkdirs(const char *root, const char *path)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", root, path);
	for (char *p = buf + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			test_fail(__FILE__, __LINE__, "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
}

/* TREE/path (e.g. "hw/a.c") holds text; a .c file is also built to TREE/obj/. */
static void tree_add(struct tree *t, const char *path, const char *text)
{
	const char *cc = getenv("CC");
	char file[256], cmd[768];
	FILE *f;

	mkdirs(t->dir, path);
	snprintf(file, sizeof(file), "%s/%s", t->dir, path);
	f = fopen(file, "w");
	ASSERT(f);
	fputs(text, f);
	ASSERT_EQ(fclose(f), 0);
	if (strcmp(path + strlen(path) - 2, ".c"))
		return;
	snprintf(file, sizeof(file), "obj/%.*s.o", (int)strlen(path) - 2, path);
	mkdirs(t->dir, file);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s -Iinclude -c -o %s %s", t->dir,
		 cc && *cc ? cc : "cc", file, path);
	if (system(cmd))
		test_fail(__FILE__, __LINE__, "cannot compile %s: %s", path, cmd);
}

/* Run the checker on the tree; its exit status, *out its stdout and stderr. */
static int tree_check(struct tree *t, char *out, size_t size)
{
	char cmd[256];
	size_t n = 0;
	int status;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sh %s -C '%s' '%s/obj' 2>&1", CHECKER, t->dir, t->dir);
	p = popen(cmd, "r");
	ASSERT(p);
	while (n + 1 < size && fgets(out + n, (int)(size - n), p))
		n += strlen(out + n);
	out[n] = '\0';
	status = pclose(p);
	ASSERT(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#define ASSERT_HAS(out, s) do {						\
	if (!strstr((out), (s)))					\
		test_fail(__FILE__, __LINE__, "no '%s' in:\n%s", (s), (out));	\
} while (0)

TEST(check_layers_upward_call_fails)
{
	struct tree t;
	char out[4096];

	tree_new(&t);
	tree_add(&t, "hyp/vm.c", "int hyp_thing(void);\nint hyp_thing(void) { return 1; }\n");
	tree_add(&t, "hw/avic_cpu.c", "int hyp_thing(void);\nint hw_poke(void);\n"
		 "int hw_poke(void) { return hyp_thing(); }\n");
	ASSERT_EQ(tree_check(&t, out, sizeof(out)), 1);
	ASSERT_HAS(out, "layering: hw/avic_cpu.o (hw) references hyp_thing defined in "
		   "hyp/vm.o (hyp)\n");
	ASSERT_HAS(out, "layering: 1 violation(s)");
	tree_free(&t);
}

TEST(check_layers_downward_call_passes)
{
	struct tree t;
	char out[4096];

	tree_new(&t);
	tree_add(&t, "hw/avic_cpu.c", "int hw_poke(void);\nint hw_poke(void) { return 1; }\n");
	tree_add(&t, "hyp/vm.c", "int hw_poke(void);\nint hyp_thing(void);\n"
		 "int hyp_thing(void) { return hw_poke(); }\n");
	/* The CLI on top, from a subfolder of kvm: both downward. */
	tree_add(&t, "kvm/devices/com1.c", "int hyp_thing(void);\nint com1(void);\n"
		 "int com1(void) { return hyp_thing(); }\n");
	tree_add(&t, "tools/vintc/main.c", "int com1(void);\nint main(void) { return com1(); }\n");
	ASSERT_EQ(tree_check(&t, out, sizeof(out)), 0);
	ASSERT_HAS(out, "layering: OK (4 objects, 3 cross-folder references");
	tree_free(&t);
}

TEST(check_layers_sim_kvm_and_subfolders)
{
	struct tree t;
	char out[4096];

	tree_new(&t);
	tree_add(&t, "sim/sim.c", "int sim_step(void);\nint sim_step(void) { return 1; }\n");
	tree_add(&t, "kvm/devices/com1.c", "int sim_step(void);\nint com1(void);\n"
		 "int com1(void) { return sim_step(); }\n");
	tree_add(&t, "tools/vintc/main.c", "int com1(void);\nint main(void) { return com1(); }\n");
	ASSERT_EQ(tree_check(&t, out, sizeof(out)), 1);
	ASSERT_HAS(out, "layering: kvm/devices/com1.o (kvm) references sim_step defined in "
		   "sim/sim.o (sim)\n");
	ASSERT_HAS(out, "layering: 1 violation(s)");
	/* An object whose source is gone is stale, not part of the tree. */
	ASSERT_EQ(unlink(strcat(strcpy(out, t.dir), "/kvm/devices/com1.c")), 0);
	ASSERT_EQ(tree_check(&t, out, sizeof(out)), 0);
	tree_free(&t);
}

TEST(check_layers_private_header_fails)
{
	struct tree t;
	char out[4096];

	tree_new(&t);
	tree_add(&t, "hyp/vlapic.h", "int vlapic_x(void);\n");
	tree_add(&t, "include/vintc/vm.h", "int vm_x(void);\n");
	tree_add(&t, "kvm/lapic.h", "int lapic_x(void);\n");
	tree_add(&t, "kvm/lapic.c", "#include \"../hyp/vlapic.h\"\n#include \"lapic.h\"\n"
		 "#include \"vintc/vm.h\"\n#include <vintc/vm.h>\n");
	tree_add(&t, "kvm/devices/com1.c", "#include \"../lapic.h\"\n");
	ASSERT_EQ(tree_check(&t, out, sizeof(out)), 1);
	ASSERT_HAS(out, "layering: kvm/lapic.c:1 (kvm) includes \"../hyp/vlapic.h\": a relative "
		   "include, a private header of hyp (hyp/vlapic.h)\n");
	ASSERT_HAS(out, "layering: kvm/devices/com1.c:1 (kvm) includes \"../lapic.h\": a "
		   "relative include\n");
	ASSERT_HAS(out, "layering: 2 violation(s)");
	tree_free(&t);
}
