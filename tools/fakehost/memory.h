/*
 * kvmi-fakehost - memory.h: the model guest's RAM.
 *
 * Sparse: a page exists in the table only once it was written or its
 * access restricted; every other byte reads as its original content, a
 * pure function of (seed, gpa) (pseudo-random bytes, so some of them are
 * the guest's own 0xCC).  That makes the "is the guest byte-identical to
 * how it started" check cheap: only pages in the table can differ.
 */
#ifndef FH_MEMORY_H
#define FH_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define FH_PAGE_SIZE 4096u
#define FH_PAGE_SHIFT 12
/* EPT views with their own access rights (kvmi-v7): view 0 and up to 7
 * more (the host allows 511; the model stops at 8) */
#define FH_MAX_VIEWS 8

struct fh_page {
	uint64_t gfn;
	uint8_t *data; /* current content; NULL = still the original */
	uint8_t access[FH_MAX_VIEWS]; /* KVMI_PAGE_ACCESS_* bits per view;
					 7 = unrestricted */
	uint8_t used;
};

struct fh_memory {
	uint64_t seed;
	uint64_t npages;	/* guest RAM size in pages */
	struct fh_page *slots;	/* open addressing on gfn */
	size_t cap;		/* power of two (or 0) */
	size_t used;
	size_t restricted;	/* (page, view) pairs whose access is not rwx */
};

/* fh_memory_init - @npages of RAM whose content derives from @seed. */
void fh_memory_init(struct fh_memory *m, uint64_t npages, uint64_t seed);
void fh_memory_free(struct fh_memory *m);

/* fh_memory_orig_page - fill @out (4096 bytes) with page @gfn's original
 * content. */
void fh_memory_orig_page(const struct fh_memory *m, uint64_t gfn, uint8_t *out);
/* fh_memory_orig_byte - the original byte at @gpa. */
uint8_t fh_memory_orig_byte(const struct fh_memory *m, uint64_t gpa);

/* fh_memory_valid - 1 when [gpa, gpa+len) is guest RAM. */
int fh_memory_valid(const struct fh_memory *m, uint64_t gpa, uint64_t len);

/* fh_memory_read / fh_memory_write - within one page (caller checked).
 * write returns 0 or -ENOMEM. */
void fh_memory_read(const struct fh_memory *m, uint64_t gpa, void *out,
		    size_t len);
int fh_memory_write(struct fh_memory *m, uint64_t gpa, const void *data,
		    size_t len);
uint8_t fh_memory_byte(const struct fh_memory *m, uint64_t gpa);

/* Page access (view 0).  get returns 7 for untracked pages; set with 7
 * forgets the restriction.  set returns 0 or -ENOMEM. */
uint8_t fh_memory_access(const struct fh_memory *m, uint64_t gpa);
int fh_memory_set_access(struct fh_memory *m, uint64_t gpa, uint8_t access);
/* the same in view @view (< FH_MAX_VIEWS) */
uint8_t fh_memory_access_view(const struct fh_memory *m, unsigned view,
			      uint64_t gpa);
int fh_memory_set_access_view(struct fh_memory *m, unsigned view, uint64_t gpa,
			      uint8_t access);
/* fh_memory_reset_view - every page of @view back to rwx */
void fh_memory_reset_view(struct fh_memory *m, unsigned view);

/* fh_memory_diff - bytes that differ from the original content. */
uint64_t fh_memory_diff(const struct fh_memory *m);

/* fh_memory_find_orig - the first gpa at or after @gpa within its page
 * whose original byte is (want_cc) / is not (!want_cc) 0xCC; UINT64_MAX
 * when the page has none. */
uint64_t fh_memory_find_orig(const struct fh_memory *m, uint64_t gpa,
			     int want_cc);

#endif
