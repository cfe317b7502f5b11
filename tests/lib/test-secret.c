/* test-secret.c — th_secret_read: the rules every token and key file is read under (regular file,
 * not readable by others, bounded, one line of printable text, one word for a token, or raw
 * bytes). */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "th-check.h"
#include "th-secret.h"

static char sc_dir[PATH_MAX];

static void sc_setup(void)
{
	snprintf(sc_dir, sizeof sc_dir, "%s/th-secret-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(sc_dir));
}

static void sc_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", sc_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write n bytes to <dir>/name with the given mode; the path in out. */
static const char *sc_file(const char *name, const void *data, size_t n, mode_t mode)
{
	static char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof path, "%s/%s", sc_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

START_TEST(world_readable_file_is_refused_naming_file_and_mode)
{
	char buf[64], err[TH_ERRLEN], want[TH_ERRLEN + PATH_MAX];
	size_t n = 99;
	const char *p = sc_file("tok", "secret\n", 7, 0644);

	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_ERR_AUTH);
	snprintf(want, sizeof want,
	         "token file %s is readable by everyone (mode 0644): chmod o-r %s", p, p);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(n, 0);
	/* o+r alone is enough to refuse, in binary mode too */
	p = sc_file("key", "0123456789abcdef0123456789abcdef", 32, 0604);
	ck_assert_int_eq(th_secret_read(p, "key file", buf, sizeof buf, &n, TH_SECRET_BINARY, err),
	                 TH_ERR_AUTH);
	ck_assert_ptr_nonnull(strstr(err, "(mode 0604)"));
}
END_TEST

START_TEST(owner_and_group_readable_files_are_accepted)
{
	char buf[64], err[TH_ERRLEN];
	size_t n;
	const char *p = sc_file("tok", "secret\n", 7, 0640);

	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_OK);
	ck_assert_str_eq(buf, "secret");
	ck_assert_uint_eq(n, 6);
	p = sc_file("tok2", "secret", 6, 0400);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_OK);
	ck_assert_str_eq(buf, "secret");
}
END_TEST

START_TEST(trailing_blanks_and_crlf_are_stripped_alike)
{
	static const char *const forms[] = {"abc-123",        "abc-123\n",     "abc-123\r\n",
	                                    "abc-123 \t\r\n", "abc-123\n\n\n", "abc-123  "};
	char buf[64], err[TH_ERRLEN];
	size_t n;

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		const char *p = sc_file("tok", forms[i], strlen(forms[i]), 0600);
		ck_assert_int_eq(
		    th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
		    TH_OK);
		ck_assert_str_eq(buf, "abc-123");
		ck_assert_uint_eq(n, 7);
	}
	/* leading blanks and inner spaces are the caller's business: kept */
	const char *p = sc_file("tok", " a b\n", 5, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_OK);
	ck_assert_str_eq(buf, " a b");
}
END_TEST

START_TEST(a_token_is_one_word_of_at_most_1023_bytes)
{
	char buf[TH_TOKEN_MAX], err[TH_ERRLEN], want[TH_ERRLEN + PATH_MAX], text[TH_TOKEN_MAX + 2];
	size_t n;
	const char *p = sc_file("tok", "tok en\n", 7, 0600);

	/* a space inside, leading or not, is refused in a token and kept in plain text */
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TOKEN, err),
	                 TH_ERR_INVALID);
	snprintf(want, sizeof want, "token file %s: space at byte 4 (a token is one word)", p);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_OK);
	ck_assert_str_eq(buf, "tok en");
	p = sc_file("tok", " token\n", 7, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TOKEN, err),
	                 TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "space at byte 1"));
	/* trailing blanks are stripped as in text */
	p = sc_file("tok", "abc-123 \t\r\n", 10, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TOKEN, err),
	                 TH_OK);
	ck_assert_str_eq(buf, "abc-123");
	/* the limit every part reads tokens with: 1023 bytes and a LF fit, one byte more does not
	 */
	memset(text, 'x', sizeof text);
	text[TH_TOKEN_MAX - 1] = '\n';
	p = sc_file("tok", text, TH_TOKEN_MAX, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TOKEN, err),
	                 TH_OK);
	ck_assert_uint_eq(n, 1023);
	text[TH_TOKEN_MAX - 1] = 'x';
	text[TH_TOKEN_MAX] = '\n';
	p = sc_file("tok", text, TH_TOKEN_MAX + 1, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TOKEN, err),
	                 TH_ERR_TOOBIG);
	snprintf(want, sizeof want, "token file %s has 1025 bytes, at most 1024", p);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(empty_or_blank_text_is_refused)
{
	char buf[64], err[TH_ERRLEN], want[TH_ERRLEN + PATH_MAX];
	size_t n;
	const char *p = sc_file("tok", "", 0, 0600);

	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_ERR_INVALID);
	snprintf(want, sizeof want, "token file %s is empty", p);
	ck_assert_str_eq(err, want);
	p = sc_file("tok", " \r\n\t\n", 5, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_ERR_INVALID);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(nul_and_control_bytes_inside_are_refused)
{
	char buf[64], err[TH_ERRLEN], want[TH_ERRLEN + PATH_MAX];
	size_t n;
	const char *p = sc_file("tok", "ab\0cd\n", 6, 0600);

	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_ERR_INVALID);
	snprintf(want, sizeof want,
	         "token file %s: control character 0x00 at byte 3 (one line of printable text "
	         "expected)",
	         p);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(buf[0], 0); /* nothing of a refused secret stays in the buffer */
	/* a second line is a control byte inside too */
	p = sc_file("tok", "first\nsecond\n", 13, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "control character 0x0a at byte 6"));
	p = sc_file("tok", "a\x7f", 2, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_ERR_INVALID);
	/* binary keys are taken as they are, NULs included */
	p = sc_file("key", "ab\0cd\n", 6, 0600);
	ck_assert_int_eq(th_secret_read(p, "key file", buf, sizeof buf, &n, TH_SECRET_BINARY, err),
	                 TH_OK);
	ck_assert_uint_eq(n, 6);
	ck_assert_mem_eq(buf, "ab\0cd\n", 6);
}
END_TEST

START_TEST(files_larger_than_the_buffer_are_refused)
{
	char big[100], buf[16], err[TH_ERRLEN], want[TH_ERRLEN + PATH_MAX];
	size_t n;
	const char *p;

	memset(big, 'x', sizeof big);
	p = sc_file("tok", big, sizeof big, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_ERR_TOOBIG);
	snprintf(want, sizeof want, "token file %s has 100 bytes, at most 16", p);
	ck_assert_str_eq(err, want);
	/* binary: exactly the buffer fits; one byte more does not */
	p = sc_file("key", big, 16, 0600);
	ck_assert_int_eq(th_secret_read(p, "key file", buf, sizeof buf, &n, TH_SECRET_BINARY, err),
	                 TH_OK);
	ck_assert_uint_eq(n, 16);
	p = sc_file("key", big, 17, 0600);
	ck_assert_int_eq(th_secret_read(p, "key file", buf, sizeof buf, &n, TH_SECRET_BINARY, err),
	                 TH_ERR_TOOBIG);
	/* text: the text and its NUL must fit, trailing blanks need not */
	p = sc_file("tok", "xxxxxxxxxxxxxxx\n", 16, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_OK);
	ck_assert_uint_eq(n, 15);
	p = sc_file("tok", big, 16, 0600);
	ck_assert_int_eq(th_secret_read(p, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	                 TH_ERR_TOOBIG);
}
END_TEST

START_TEST(directories_fifos_and_missing_files_are_refused)
{
	char buf[64], err[TH_ERRLEN], want[TH_ERRLEN + PATH_MAX], path[PATH_MAX + 16];
	size_t n;

	ck_assert_int_eq(chmod(sc_dir, 0700), 0);
	ck_assert_int_eq(
	    th_secret_read(sc_dir, "key file", buf, sizeof buf, &n, TH_SECRET_BINARY, err),
	    TH_ERR_INVALID);
	snprintf(want, sizeof want, "key file %s is not a regular file", sc_dir);
	ck_assert_str_eq(err, want);

	/* a FIFO without a writer must not hang the reader */
	snprintf(path, sizeof path, "%s/fifo", sc_dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(
	    th_secret_read(path, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	    TH_ERR_INVALID);

	snprintf(path, sizeof path, "%s/none", sc_dir);
	ck_assert_int_eq(
	    th_secret_read(path, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err),
	    TH_ERR_NOTFOUND);
	snprintf(want, sizeof want, "token file %s: No such file or directory", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(a_symlink_to_a_private_file_is_followed)
{
	char buf[64], err[TH_ERRLEN], link[PATH_MAX + 16];
	size_t n;
	const char *p = sc_file("tok", "via-link\n", 9, 0600);

	snprintf(link, sizeof link, "%s/link", sc_dir);
	ck_assert_int_eq(symlink(p, link), 0);
	ck_assert_int_eq(
	    th_secret_read(link, "token file", buf, sizeof buf, &n, TH_SECRET_TEXT, err), TH_OK);
	ck_assert_str_eq(buf, "via-link");
}
END_TEST

Suite *th_test_suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, sc_setup, sc_teardown);
	tcase_add_test(tc, world_readable_file_is_refused_naming_file_and_mode);
	tcase_add_test(tc, owner_and_group_readable_files_are_accepted);
	tcase_add_test(tc, trailing_blanks_and_crlf_are_stripped_alike);
	tcase_add_test(tc, a_token_is_one_word_of_at_most_1023_bytes);
	tcase_add_test(tc, empty_or_blank_text_is_refused);
	tcase_add_test(tc, nul_and_control_bytes_inside_are_refused);
	tcase_add_test(tc, files_larger_than_the_buffer_are_refused);
	tcase_add_test(tc, directories_fifos_and_missing_files_are_refused);
	tcase_add_test(tc, a_symlink_to_a_private_file_is_followed);
	suite_add_tcase(s, tc);
	return s;
}
