/*
 * libkvmi - tools/pcapng.c: the pcapng writer of tools/pcapng.h (SHB,
 * IDB, EPB in the host's byte order, every field padded to 32 bits).
 */
#include <errno.h>
#include <string.h>

#include "pcapng.h"

struct opt {
	uint16_t code;
	uint16_t len;
	const void *val;
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* bytes the options take, opt_endofopt included (0 for none) */
static size_t opts_size(const struct opt *o, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += 4 + pad4(o[i].len);
	return n ? total + 4 : 0;
}

static void put(struct pcapng_writer *w, const void *p, size_t n)
{
	if (w->err || !n)
		return;
	errno = 0;
	if (fwrite(p, 1, n, w->f) != n)
		w->err = errno ? -errno : -EIO;
}

static void put_u16(struct pcapng_writer *w, uint16_t v)
{
	put(w, &v, sizeof(v));
}

static void put_u32(struct pcapng_writer *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

static void put_pad(struct pcapng_writer *w, size_t n)
{
	static const uint8_t zero[4];

	put(w, zero, pad4(n) - n);
}

static void put_opts(struct pcapng_writer *w, const struct opt *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		put_u16(w, o[i].code);
		put_u16(w, o[i].len);
		put(w, o[i].val, o[i].len);
		put_pad(w, o[i].len);
	}
	if (n) {
		put_u16(w, PCAPNG_OPT_ENDOFOPT);
		put_u16(w, 0);
	}
}

/* add a text option when @s is set; -EINVAL when it does not fit */
static int text_opt(struct opt *o, size_t *n, uint16_t code, const char *s)
{
	size_t len;

	if (!s)
		return 0;
	len = strlen(s);
	if (len > 0xffff)
		return -EINVAL;
	o[(*n)++] = (struct opt){code, (uint16_t)len, s};
	return 0;
}

void pcapng_writer_init(struct pcapng_writer *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

int pcapng_writer_error(const struct pcapng_writer *w)
{
	return w->err;
}

int pcapng_write_shb(struct pcapng_writer *w, const char *userappl)
{
	struct opt o[1];
	size_t n = 0;
	uint32_t total;
	int64_t section_len = -1;

	if (w->err)
		return w->err;
	if (w->have_shb || text_opt(o, &n, PCAPNG_OPT_SHB_USERAPPL, userappl))
		return -EINVAL;
	total = (uint32_t)(28 + opts_size(o, n));
	put_u32(w, PCAPNG_BT_SHB);
	put_u32(w, total);
	put_u32(w, PCAPNG_BYTE_ORDER_MAGIC);
	put_u16(w, 1); /* major version */
	put_u16(w, 0); /* minor version */
	put(w, &section_len, sizeof(section_len));
	put_opts(w, o, n);
	put_u32(w, total);
	if (!w->err)
		w->have_shb = 1;
	return w->err;
}

int pcapng_write_idb(struct pcapng_writer *w, uint16_t linktype,
		     uint32_t snaplen, const char *name,
		     const char *description, uint8_t tsresol)
{
	struct opt o[3];
	size_t n = 0;
	uint32_t total;

	if (w->err)
		return w->err;
	if (!w->have_shb || text_opt(o, &n, PCAPNG_OPT_IF_NAME, name) ||
	    text_opt(o, &n, PCAPNG_OPT_IF_DESCRIPTION, description))
		return -EINVAL;
	if (tsresol != 6)
		o[n++] = (struct opt){PCAPNG_OPT_IF_TSRESOL, 1, &tsresol};
	total = (uint32_t)(20 + opts_size(o, n));
	put_u32(w, PCAPNG_BT_IDB);
	put_u32(w, total);
	put_u16(w, linktype);
	put_u16(w, 0); /* reserved */
	put_u32(w, snaplen);
	put_opts(w, o, n);
	put_u32(w, total);
	if (!w->err)
		w->nifaces++;
	return w->err;
}

int pcapng_write_epb(struct pcapng_writer *w, uint32_t if_id, uint64_t ts,
		     const void *data, size_t len, uint32_t flags)
{
	struct opt o[1];
	size_t n = 0;
	uint32_t total;

	if (w->err)
		return w->err;
	if (if_id >= w->nifaces || len > PCAPNG_MAX_DATA || (len && !data))
		return -EINVAL;
	if (flags)
		o[n++] = (struct opt){PCAPNG_OPT_EPB_FLAGS, 4, &flags};
	total = (uint32_t)(32 + pad4(len) + opts_size(o, n));
	put_u32(w, PCAPNG_BT_EPB);
	put_u32(w, total);
	put_u32(w, if_id);
	put_u32(w, (uint32_t)(ts >> 32));
	put_u32(w, (uint32_t)ts);
	put_u32(w, (uint32_t)len); /* captured */
	put_u32(w, (uint32_t)len); /* original */
	put(w, data, len);
	put_pad(w, len);
	put_opts(w, o, n);
	put_u32(w, total);
	return w->err;
}
