/* fuzz target: encode -> parse round trip (store/lp.h): parse(encode(p)) == p for every
 * point the encoder takes.
 *
 * The input is read as a point (fuzz/seed.py writes the same layout from the fixtures):
 *   byte  precision (bits 0-1), has_time (bit 2), tags (bits 3-5: 0..7)
 *   byte  fields - 1 (bits 0-2: 1..8)
 *   8     time_ns, little-endian
 *   str   measurement;  then per tag: str key, str value
 *   then per field: byte type (mod 5: float int uint string bool), str key, value
 *         (float/int/uint: 8 bytes little-endian; bool: 1 byte; string: str2)
 * str is a length byte and that many bytes (names are C strings: a NUL ends them early);
 * str2 a two-byte length. Reading past the end gives zeros.
 *
 * Also: lp_encode_kc gives exactly lp_encode's answer, through a cache kept from input to
 * input (a hit on an earlier input's key included), cold and then warm. */
#include "fuzz.h"

static lp_keycache *kc;

static void kc_diff(const lp_point *p, lp_precision prec)
{
    if (!kc && !(kc = lp_keycache_new()))
        abort();
    buf a, b;
    buf_init(&a, 1 << 20);
    buf_init(&b, 1 << 20);
    for (int round = 0; round < 2; round++) {
        char ea[256] = "", eb[256] = "";
        size_t ra = 0, rb = 0;
        buf_reset(&a);
        buf_reset(&b);
        int rca = lp_encode(p, prec, &a, &ra, ea, sizeof ea);
        int rcb = lp_encode_kc(kc, p, prec, &b, &rb, eb, sizeof eb);
        if (rca != rcb || ra != rb || strcmp(ea, eb) != 0 || a.len != b.len ||
            (a.len && memcmp(a.p, b.p, a.len) != 0))
            abort();
    }
    buf_free(&a);
    buf_free(&b);
}

typedef struct rd {
    const uint8_t *p;
    size_t n, i;
} rd;

static uint8_t rd_byte(rd *r)
{
    return r->i < r->n ? r->p[r->i++] : 0;
}

static uint64_t rd_u64(rd *r)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)rd_byte(r) << (8 * k);
    return v;
}

/* a NUL-terminated copy of the next len bytes into arena */
static char *rd_str(rd *r, size_t len, char **arena, size_t *outlen)
{
    if (len > r->n - r->i)
        len = r->n - r->i;
    char *s = *arena;
    memcpy(s, r->p + r->i, len);
    s[len] = '\0';
    r->i += len;
    *arena += len + 1;
    if (outlen)
        *outlen = len;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd r = { data, size, 0 };
    uint8_t b0 = rd_byte(&r), b1 = rd_byte(&r);
    lp_precision prec = (lp_precision)(b0 & 3);
    lp_point p = { 0 };
    p.has_time = (b0 & 4) != 0;
    p.time_ns = (int64_t)rd_u64(&r);
    lp_tag tags[7];
    lp_field fields[8];
    size_t ntags = (b0 >> 3) & 7, nfields = (size_t)(b1 & 7) + 1;
    char *arena_base = malloc(size + 64), *arena = arena_base;
    if (!arena_base)
        abort();
    p.measurement = rd_str(&r, rd_byte(&r), &arena, NULL);
    for (size_t i = 0; i < ntags; i++) {
        tags[i].key = rd_str(&r, rd_byte(&r), &arena, NULL);
        tags[i].value = rd_str(&r, rd_byte(&r), &arena, NULL);
    }
    for (size_t i = 0; i < nfields; i++) {
        uint8_t t = rd_byte(&r) % 5;
        const char *k = rd_str(&r, rd_byte(&r), &arena, NULL);
        uint64_t u;
        double d;
        size_t slen;
        const char *s;
        switch (t) {
        case 0:
            u = rd_u64(&r);
            memcpy(&d, &u, sizeof d);
            fields[i] = lp_f_float(k, d);
            break;
        case 1:
            fields[i] = lp_f_int(k, (int64_t)rd_u64(&r));
            break;
        case 2:
            fields[i] = (lp_field){ .key = k, .type = LP_UINT };
            fields[i].v.u = rd_u64(&r);
            break;
        case 3: {
            size_t l = rd_byte(&r);
            l |= (size_t)rd_byte(&r) << 8;
            s = rd_str(&r, l, &arena, &slen);
            fields[i] = lp_f_str(k, s, slen);
            break;
        }
        default:
            fields[i] = lp_f_bool(k, rd_byte(&r) & 1);
            break;
        }
    }
    p.tags = tags;
    p.ntags = ntags;
    p.fields = fields;
    p.nfields = nfields;
    (void)fuzz_roundtrip(&p, prec);
    kc_diff(&p, prec);
    free(arena_base);
    return 0;
}
