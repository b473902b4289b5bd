/* Geography for the wristband: fixes, distances, the GCJ-02 datum, the safe
 * zone's settings and map links (docs/LOCATION.md). */
#include "geo.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEG (M_PI / 180.0)

/* --- names ------------------------------------------------------------ */

static const char *const datum_names[_GEO_DATUM_MAX] = {
        [GEO_DATUM_WGS84] = "wgs84",
        [GEO_DATUM_GCJ02] = "gcj02",
};

static const char *const map_names[_GEO_MAP_MAX] = {
        [GEO_MAP_NONE] = "none",
        [GEO_MAP_AMAP] = "amap",
        [GEO_MAP_OSM] = "osm",
};

const char *geo_datum_to_string(enum geo_datum d) {
        return d >= 0 && d < _GEO_DATUM_MAX ? datum_names[d] : NULL;
}

enum geo_datum geo_datum_from_string(const char *s) {
        for (int i = 0; s && i < _GEO_DATUM_MAX; i++)
                if (strcmp(s, datum_names[i]) == 0)
                        return (enum geo_datum) i;
        return _GEO_DATUM_INVALID;
}

const char *geo_map_to_string(enum geo_map m) {
        return m >= 0 && m < _GEO_MAP_MAX ? map_names[m] : NULL;
}

enum geo_map geo_map_from_string(const char *s) {
        for (int i = 0; s && i < _GEO_MAP_MAX; i++)
                if (strcmp(s, map_names[i]) == 0)
                        return (enum geo_map) i;
        return _GEO_MAP_INVALID;
}

enum geo_datum geo_map_datum(enum geo_map m) {
        switch (m) {
        case GEO_MAP_AMAP: return GEO_DATUM_GCJ02;
        case GEO_MAP_OSM: return GEO_DATUM_WGS84;
        default: return _GEO_DATUM_INVALID;
        }
}

/* --- fixes ------------------------------------------------------------ */

enum geo_fix_problem geo_fix_check(double lat, double lon, double accuracy_m) {
        if (!isfinite(lat))
                return GEO_FIX_LAT_NOT_A_NUMBER;
        if (lat < -90.0 || lat > 90.0)
                return GEO_FIX_LAT_RANGE;
        if (!isfinite(lon))
                return GEO_FIX_LON_NOT_A_NUMBER;
        if (lon < -180.0 || lon > 180.0)
                return GEO_FIX_LON_RANGE;
        /* 0,0 is in the Gulf of Guinea; a receiver (or a band's firmware)
         * that has no fix yet reports it, sometimes with a plausible accuracy. */
        if (lat == 0.0 && lon == 0.0)
                return GEO_FIX_NULL_ISLAND;
        if (!isfinite(accuracy_m))
                return GEO_FIX_ACCURACY_NOT_A_NUMBER;
        if (accuracy_m <= 0.0)
                return GEO_FIX_ACCURACY_NOT_POSITIVE;
        if (accuracy_m > GEO_ACCURACY_MAX_M)
                return GEO_FIX_ACCURACY_TOO_LARGE;
        return GEO_FIX_OK;
}

const char *geo_fix_problem_to_string(enum geo_fix_problem p) {
        switch (p) {
        case GEO_FIX_OK: return "ok";
        case GEO_FIX_LAT_NOT_A_NUMBER: return "latitude is not a finite number";
        case GEO_FIX_LAT_RANGE: return "latitude is outside -90..90";
        case GEO_FIX_LON_NOT_A_NUMBER: return "longitude is not a finite number";
        case GEO_FIX_LON_RANGE: return "longitude is outside -180..180";
        case GEO_FIX_NULL_ISLAND: return "0,0 is what a receiver without a fix reports";
        case GEO_FIX_ACCURACY_NOT_A_NUMBER: return "accuracy is not a finite number";
        case GEO_FIX_ACCURACY_NOT_POSITIVE: return "accuracy is not above 0 m";
        case GEO_FIX_ACCURACY_TOO_LARGE: return "accuracy is above 100 km: not a position";
        default: return "unknown problem";
        }
}

/* --- distance --------------------------------------------------------- */

double geo_distance_m(struct geo_point a, struct geo_point b) {
        double dlat = (b.lat - a.lat) * DEG, dlon = (b.lon - a.lon) * DEG;
        double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
        double h = s1 * s1 + cos(a.lat * DEG) * cos(b.lat * DEG) * s2 * s2;

        /* Rounding can push h a hair above 1 near the antipode. */
        if (h > 1.0)
                h = 1.0;
        return 2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(h));
}

/* --- GCJ-02 ----------------------------------------------------------- */

/* The GCJ-02 offset is specified on the Krasovsky 1940 ellipsoid. */
#define KRASOVSKY_A  6378245.0
#define KRASOVSKY_E2 0.00669342162296594323

bool geo_gcj02_applies(struct geo_point p) {
        return p.lon >= 72.004 && p.lon <= 137.8347 && p.lat >= 0.8293 && p.lat <= 55.8271;
}

/* The published offset as a function of x = lon - 105, y = lat - 35, in
 * metres east and north (before scaling to degrees). */
static void gcj02_offset_m(double x, double y, double *ret_east, double *ret_north) {
        double common = (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
        double east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x)) + common;
        double north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x)) + common;

        east += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
        east += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
        north += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
        north += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
        *ret_east = east;
        *ret_north = north;
}

/* The offset at wgs in degrees: metres over the radii of curvature of the
 * Krasovsky ellipsoid at that latitude (meridian M, prime vertical N). */
static struct geo_point gcj02_offset_deg(struct geo_point wgs) {
        double east, north;
        double s = sin(wgs.lat * DEG), w = 1.0 - KRASOVSKY_E2 * s * s, sw = sqrt(w);
        double m = KRASOVSKY_A * (1.0 - KRASOVSKY_E2) / (w * sw), n = KRASOVSKY_A / sw;

        gcj02_offset_m(wgs.lon - 105.0, wgs.lat - 35.0, &east, &north);
        return (struct geo_point) {
                .lat = north * 180.0 / (m * M_PI),
                .lon = east * 180.0 / (n * cos(wgs.lat * DEG) * M_PI),
        };
}

struct geo_point geo_wgs84_to_gcj02(struct geo_point wgs) {
        struct geo_point d;

        if (!isfinite(wgs.lat) || !isfinite(wgs.lon) || !geo_gcj02_applies(wgs))
                return wgs;
        d = gcj02_offset_deg(wgs);
        return (struct geo_point) { .lat = wgs.lat + d.lat, .lon = wgs.lon + d.lon };
}

struct geo_point geo_gcj02_to_wgs84(struct geo_point gcj) {
        struct geo_point w = gcj;

        if (!isfinite(gcj.lat) || !isfinite(gcj.lon) || !geo_gcj02_applies(gcj))
                return gcj;
        /* w = gcj - offset(w): the offset changes by ~1e-3 of a step from one
         * guess to the next, so each round gains about three digits; at most
         * five rounds reach 1e-10 degree anywhere in the box (measured on a
         * 0.25 degree grid). The limit is only a guard. */
        for (int i = 0; i < 30; i++) {
                struct geo_point d = gcj02_offset_deg(w);
                double elat = w.lat + d.lat - gcj.lat, elon = w.lon + d.lon - gcj.lon;

                w.lat -= elat;
                w.lon -= elon;
                if (fabs(elat) < 1e-10 && fabs(elon) < 1e-10)
                        break;
        }
        return w;
}

struct geo_point geo_convert(struct geo_point p, enum geo_datum from, enum geo_datum to) {
        if (from == GEO_DATUM_WGS84 && to == GEO_DATUM_GCJ02)
                return geo_wgs84_to_gcj02(p);
        if (from == GEO_DATUM_GCJ02 && to == GEO_DATUM_WGS84)
                return geo_gcj02_to_wgs84(p);
        return p;
}

/* --- parsing ---------------------------------------------------------- */

static const char *skip_blanks(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

/* One decimal number at *s: [+-]digits[.digits] or [+-].digits, at most 24
 * characters; *s moves past it. -EINVAL if there is none. */
static int parse_decimal(const char **s, double *ret) {
        const char *p = *s, *start = p;
        char buf[32];
        size_t digits = 0, len;

        if (*p == '+' || *p == '-')
                p++;
        while (isdigit((unsigned char) *p))
                p++, digits++;
        if (*p == '.') {
                p++;
                while (isdigit((unsigned char) *p))
                        p++, digits++;
        }
        len = (size_t) (p - start);
        if (digits == 0 || len >= 25)
                return -EINVAL;
        /* Only now strtod(): the syntax is ours (no "1e3", "0x10", "inf"). */
        memcpy(buf, start, len);
        buf[len] = '\0';
        *ret = strtod(buf, NULL);
        *s = p;
        return 0;
}

/* "lat,lon" as two numbers, blanks around either; -EINVAL if not that. */
static int parse_pair(const char *s, double *ret_lat, double *ret_lon) {
        s = skip_blanks(s);
        if (parse_decimal(&s, ret_lat) < 0)
                return -EINVAL;
        s = skip_blanks(s);
        if (*s != ',')
                return -EINVAL;
        s = skip_blanks(s + 1);
        if (parse_decimal(&s, ret_lon) < 0)
                return -EINVAL;
        return *skip_blanks(s) == '\0' ? 0 : -EINVAL;
}

/* Why lat,lon is not a home; NULL if it is one. */
static const char *point_range_problem(double lat, double lon) {
        if (fabs(lat) > 90.0 && fabs(lat) <= 180.0 && fabs(lon) <= 90.0)
                return "latitude outside -90..90: written lon,lat? (Amap writes lon,lat; this is lat,lon)";
        if (fabs(lat) > 90.0)
                return "latitude outside -90..90";
        if (fabs(lon) > 180.0)
                return "longitude outside -180..180";
        if (lat == 0.0 && lon == 0.0)
                return "0,0 is no home (the Gulf of Guinea)";
        return NULL;
}

int geo_parse_point(const char *s, struct geo_point *ret, const char **ret_why) {
        const char *why;
        double lat, lon;

        if (!s || parse_pair(s, &lat, &lon) < 0) {
                if (ret_why)
                        *ret_why = "expected \"lat,lon\" in decimal degrees, e.g. 31.230416,121.473701";
                return -EINVAL;
        }
        why = point_range_problem(lat, lon);
        if (why) {
                if (ret_why)
                        *ret_why = why;
                return -ERANGE;
        }
        *ret = (struct geo_point) { .lat = lat, .lon = lon };
        return 0;
}

int geo_parse_hours(const char *s, struct geo_hours *ret, const char **ret_why) {
        const char *dash, *why = "expected \"HH:MM-HH:MM\" (24 h, local time) or \"always\"";
        char a[8], b[8];
        unsigned start, end;
        size_t la, lb;

        if (!s)
                goto fail;
        if (strcasecmp(s, "always") == 0) {
                *ret = (struct geo_hours) { .always = true };
                return 0;
        }
        dash = strchr(s, '-');
        if (!dash)
                goto fail;
        la = (size_t) (dash - s);
        lb = strlen(dash + 1);
        if (la >= sizeof a || lb >= sizeof b)
                goto fail;
        memcpy(a, s, la);
        a[la] = '\0';
        memcpy(b, dash + 1, lb + 1);
        if (parse_time_of_day(a, &start) < 0 || parse_time_of_day(b, &end) < 0)
                goto fail;
        if (start == end) {
                why = "the hours start and end at the same time: write \"always\" for the whole day";
                goto fail;
        }
        *ret = (struct geo_hours) { .always = false, .start_min = start, .end_min = end };
        return 0;
fail:
        if (ret_why)
                *ret_why = why;
        return -EINVAL;
}

bool geo_hours_contain(const struct geo_hours *h, unsigned m) {
        if (h->always || h->start_min == h->end_min)
                return true;
        return h->start_min < h->end_min ? m >= h->start_min && m < h->end_min
                                         : m >= h->start_min || m < h->end_min;
}

/* --- zone and words --------------------------------------------------- */

struct geo_zone_pos geo_zone_where(struct geo_point center, double radius_m, struct geo_point p) {
        double d = geo_distance_m(center, p);

        return (struct geo_zone_pos) { .inside = d <= radius_m, .distance_m = d };
}

char *geo_format_distance(char *buf, size_t n, double m) {
        if (!isfinite(m) || m < 0)
                snprintf(buf, n, "?");
        else if (m < 995.0)
                /* Whole metres; tens above 100 m: a fix is not better than that. */
                snprintf(buf, n, "%.0f m", m < 100.0 ? m : round(m / 10.0) * 10.0);
        else if (m < 9950.0)
                snprintf(buf, n, "%.1f km", m / 1000.0);
        else
                snprintf(buf, n, "%.0f km", m / 1000.0);
        return buf;
}

/* --- map links -------------------------------------------------------- */

/* Whether s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static bool utf8_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned c = *p, len, cp;

                if (c < 0x80) {
                        p++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        len = 2, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        len = 3, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        len = 4, cp = c & 0x07;
                else
                        return false;
                for (unsigned i = 1; i < len; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                        return false;
                p += len;
        }
        return true;
}

/* Appends to buf at *pos; false (and nothing more is written) when full. */
static bool append(char *buf, size_t n, size_t *pos, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static bool append(char *buf, size_t n, size_t *pos, const char *fmt, ...) {
        va_list ap;
        int r;

        if (*pos >= n)
                return false;
        va_start(ap, fmt);
        r = vsnprintf(buf + *pos, n - *pos, fmt, ap);
        va_end(ap);
        if (r < 0 || (size_t) r >= n - *pos)
                return false;
        *pos += (size_t) r;
        return true;
}

/* RFC 3986 percent-encoding of every byte but the unreserved characters. */
static bool append_encoded(char *buf, size_t n, size_t *pos, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                bool plain = isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~';

                if (!(plain ? append(buf, n, pos, "%c", *p) : append(buf, n, pos, "%%%02X", *p)))
                        return false;
        }
        return true;
}

int geo_map_link(enum geo_map map, struct geo_point p, enum geo_datum datum, const char *label,
                 char *buf, size_t n) {
        enum geo_datum want = geo_map_datum(map);
        size_t pos = 0;
        bool ok;

        if (n > 0)
                buf[0] = '\0';
        if (want < 0 || datum < 0 || datum >= _GEO_DATUM_MAX ||
            geo_fix_check(p.lat, p.lon, 1.0) != GEO_FIX_OK || (label && !utf8_valid(label)))
                return -EINVAL;
        p = geo_convert(p, datum, want);
        if (map == GEO_MAP_AMAP) {
                /* lbs.amap.com/api/uri-api/guide/mobile-web/point: position is
                 * lon,lat; coordinate=gaode says GCJ-02 (the default, spelled
                 * out: the point is converted here, tested, rather than by
                 * Amap's coordinate=wgs84); callnative=0 (the default) opens
                 * the web map, which needs no app on the phone. */
                ok = append(buf, n, &pos, "https://uri.amap.com/marker?position=%.6f,%.6f", p.lon, p.lat);
                if (ok && label && *label)
                        ok = append(buf, n, &pos, "&name=") && append_encoded(buf, n, &pos, label);
                ok = ok && append(buf, n, &pos, "&src=anju&coordinate=gaode&callnative=0");
        } else {
                /* openstreetmap.org reads mlat/mlon as a marker and
                 * #map=zoom/lat/lon as the view; 17 shows the streets and
                 * house numbers around her. */
                ok = append(buf, n, &pos, "https://www.openstreetmap.org/?mlat=%.6f&mlon=%.6f#map=17/%.6f/%.6f",
                            p.lat, p.lon, p.lat, p.lon);
        }
        if (!ok) {
                if (n > 0)
                        buf[0] = '\0';
                return -ENOBUFS;
        }
        return (int) pos;
}
