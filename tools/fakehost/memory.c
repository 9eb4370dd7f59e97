/*
 * kvmi-fakehost - memory.c: sparse guest RAM with deterministic original
 * content and per-page access bits (see memory.h).
 */
#include "memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ACCESS_RWX 7

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Eight original bytes of the 8-byte aligned word at @gpa. */
static uint64_t orig_word(uint64_t seed, uint64_t gpa)
{
	return mix64(seed ^ mix64(gpa >> 3));
}

void fh_memory_init(struct fh_memory *m, uint64_t npages, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->npages = npages;
	m->seed = seed;
}

void fh_memory_free(struct fh_memory *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].data);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->used = m->restricted = 0;
}

uint8_t fh_memory_orig_byte(const struct fh_memory *m, uint64_t gpa)
{
	return (uint8_t)(orig_word(m->seed, gpa) >> (8 * (gpa & 7)));
}

void fh_memory_orig_page(const struct fh_memory *m, uint64_t gfn, uint8_t *out)
{
	uint64_t base = gfn << FH_PAGE_SHIFT;

	for (unsigned i = 0; i < FH_PAGE_SIZE; i += 8) {
		uint64_t w = orig_word(m->seed, base + i);

		for (unsigned b = 0; b < 8; b++)
			out[i + b] = (uint8_t)(w >> (8 * b));
	}
}

int fh_memory_valid(const struct fh_memory *m, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	return end >= gpa && (gpa >> FH_PAGE_SHIFT) < m->npages &&
	       ((end - 1) >> FH_PAGE_SHIFT) < m->npages;
}

static size_t slot_of(uint64_t gfn, size_t cap)
{
	return (size_t)mix64(gfn) & (cap - 1);
}

static struct fh_page *lookup(const struct fh_memory *m, uint64_t gfn)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(gfn, m->cap);; i = (i + 1) & (m->cap - 1)) {
		struct fh_page *p = &m->slots[i];

		if (!p->used)
			return NULL;
		if (p->gfn == gfn)
			return p;
	}
}

static int grow(struct fh_memory *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	struct fh_page *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		struct fh_page *p = &m->slots[i];
		size_t j;

		if (!p->used)
			continue;
		for (j = slot_of(p->gfn, cap); slots[j].used; j = (j + 1) & (cap - 1))
			;
		slots[j] = *p;
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

/* The page record of @gfn, created (unrestricted, original) if missing. */
static struct fh_page *get_page(struct fh_memory *m, uint64_t gfn)
{
	struct fh_page *p = lookup(m, gfn);
	size_t i;

	if (p)
		return p;
	if ((m->used + 1) * 4 > m->cap * 3 && grow(m))
		return NULL;
	for (i = slot_of(gfn, m->cap); m->slots[i].used; i = (i + 1) & (m->cap - 1))
		;
	p = &m->slots[i];
	p->used = 1;
	p->gfn = gfn;
	p->data = NULL;
	memset(p->access, ACCESS_RWX, sizeof(p->access));
	m->used++;
	return p;
}

void fh_memory_read(const struct fh_memory *m, uint64_t gpa, void *out,
		    size_t len)
{
	const struct fh_page *p = lookup(m, gpa >> FH_PAGE_SHIFT);
	uint8_t *o = out;

	if (p && p->data) {
		memcpy(o, p->data + (gpa & (FH_PAGE_SIZE - 1)), len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		o[i] = fh_memory_orig_byte(m, gpa + i);
}

uint8_t fh_memory_byte(const struct fh_memory *m, uint64_t gpa)
{
	uint8_t b;

	fh_memory_read(m, gpa, &b, 1);
	return b;
}

int fh_memory_write(struct fh_memory *m, uint64_t gpa, const void *data,
		    size_t len)
{
	struct fh_page *p = get_page(m, gpa >> FH_PAGE_SHIFT);

	if (!p)
		return -ENOMEM;
	if (!p->data) {
		p->data = malloc(FH_PAGE_SIZE);
		if (!p->data)
			return -ENOMEM;
		fh_memory_orig_page(m, p->gfn, p->data);
	}
	memcpy(p->data + (gpa & (FH_PAGE_SIZE - 1)), data, len);
	return 0;
}

uint8_t fh_memory_access_view(const struct fh_memory *m, unsigned view,
			      uint64_t gpa)
{
	const struct fh_page *p = lookup(m, gpa >> FH_PAGE_SHIFT);

	return p ? p->access[view] : ACCESS_RWX;
}

uint8_t fh_memory_access(const struct fh_memory *m, uint64_t gpa)
{
	return fh_memory_access_view(m, 0, gpa);
}

int fh_memory_set_access_view(struct fh_memory *m, unsigned view, uint64_t gpa,
			      uint8_t access)
{
	struct fh_page *p;

	if (access == ACCESS_RWX && !lookup(m, gpa >> FH_PAGE_SHIFT))
		return 0;
	p = get_page(m, gpa >> FH_PAGE_SHIFT);
	if (!p)
		return -ENOMEM;
	if (p->access[view] == ACCESS_RWX && access != ACCESS_RWX)
		m->restricted++;
	else if (p->access[view] != ACCESS_RWX && access == ACCESS_RWX)
		m->restricted--;
	p->access[view] = access;
	return 0;
}

int fh_memory_set_access(struct fh_memory *m, uint64_t gpa, uint8_t access)
{
	return fh_memory_set_access_view(m, 0, gpa, access);
}

void fh_memory_reset_view(struct fh_memory *m, unsigned view)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			fh_memory_set_access_view(m, view,
						  m->slots[i].gfn << FH_PAGE_SHIFT,
						  ACCESS_RWX);
}

uint64_t fh_memory_diff(const struct fh_memory *m)
{
	uint8_t orig[FH_PAGE_SIZE];
	uint64_t n = 0;

	for (size_t i = 0; i < m->cap; i++) {
		const struct fh_page *p = &m->slots[i];

		if (!p->used || !p->data)
			continue;
		fh_memory_orig_page(m, p->gfn, orig);
		for (unsigned b = 0; b < FH_PAGE_SIZE; b++)
			n += p->data[b] != orig[b];
	}
	return n;
}

uint64_t fh_memory_find_orig(const struct fh_memory *m, uint64_t gpa,
			     int want_cc)
{
	uint8_t orig[FH_PAGE_SIZE];
	unsigned off = gpa & (FH_PAGE_SIZE - 1);

	fh_memory_orig_page(m, gpa >> FH_PAGE_SHIFT, orig);
	for (; off < FH_PAGE_SIZE; off++)
		if ((orig[off] == 0xCC) == !!want_cc)
			return (gpa & ~(uint64_t)(FH_PAGE_SIZE - 1)) + off;
	return UINT64_MAX;
}
