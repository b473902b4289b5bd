/* Geography for the wristband (issue 14): checking a location fix, the
 * great-circle distance, the Chinese map datum GCJ-02, the safe zone's
 * settings ("lat,lon", "HH:MM-HH:MM"), whether a point is inside a circular
 * zone, and a map link for people. Pure: plain doubles and structs in and
 * out, no config, no clock, no I/O (docs/LOCATION.md).
 *
 * Datums: a GPS receiver gives WGS-84; maps published in China (Amap, Tencent,
 * and Baidu underneath its own BD-09) draw GCJ-02, which is WGS-84 shifted by
 * a non-linear offset of a few hundred metres. Every position inside anjud is
 * WGS-84; a GCJ-02 reading is converted once, when it arrives, and a link to
 * a Chinese map converts back at the last moment.
 *
 * Numbers are printed and parsed in the C locale (anjud never calls
 * setlocale(), so the decimal separator is '.'). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The mean radius R1 = (2a + b) / 3 of the WGS-84 ellipsoid (IUGG), metres.
 * A sphere of this radius is within 0.5 % of the ellipsoid's distances. */
#define GEO_EARTH_RADIUS_M 6371008.8

/* A fix claiming to be worse than this (radius, metres) is no position at
 * all: cell-tower positioning is good to a few km, an IP guess is not. */
#define GEO_ACCURACY_MAX_M 100000.0

struct geo_point {
        double lat, lon;        /* degrees; north and east positive */
};

enum geo_datum {
        GEO_DATUM_WGS84,        /* GPS, OpenStreetMap, the dispatch center */
        GEO_DATUM_GCJ02,        /* Chinese maps (Amap, Tencent); "Mars coordinates" */
        _GEO_DATUM_MAX,
        _GEO_DATUM_INVALID = -1,
};

/* A map for people to open a link on ([hub] map). */
enum geo_map {
        GEO_MAP_NONE,
        GEO_MAP_AMAP,           /* uri.amap.com, GCJ-02 */
        GEO_MAP_OSM,            /* www.openstreetmap.org, WGS-84 */
        _GEO_MAP_MAX,
        _GEO_MAP_INVALID = -1,
};

/* Why a fix is refused. */
enum geo_fix_problem {
        GEO_FIX_OK,
        GEO_FIX_LAT_NOT_A_NUMBER,       /* NaN or infinite */
        GEO_FIX_LAT_RANGE,              /* outside -90..90 */
        GEO_FIX_LON_NOT_A_NUMBER,
        GEO_FIX_LON_RANGE,              /* outside -180..180 */
        GEO_FIX_NULL_ISLAND,            /* exactly 0,0: what receivers send without a fix */
        GEO_FIX_ACCURACY_NOT_A_NUMBER,
        GEO_FIX_ACCURACY_NOT_POSITIVE,  /* 0 or less: no claim about the error */
        GEO_FIX_ACCURACY_TOO_LARGE,     /* above GEO_ACCURACY_MAX_M */
        _GEO_FIX_PROBLEM_MAX,
        _GEO_FIX_PROBLEM_INVALID = -1,
};

/* The active hours of a rule: always, or from start to end (local time,
 * minutes after midnight); end < start spans midnight ("20:00-07:00"). */
struct geo_hours {
        bool always;
        unsigned start_min, end_min;
};

/* Where a point is relative to a circular zone. */
struct geo_zone_pos {
        bool inside;            /* distance_m <= radius */
        double distance_m;      /* from the center */
};

/* Names as they appear in config and JSON ("wgs84", "gcj02"; "none",
 * "amap", "osm"). from_string returns _INVALID for anything else. */
const char *geo_datum_to_string(enum geo_datum d);
enum geo_datum geo_datum_from_string(const char *s);
const char *geo_map_to_string(enum geo_map m);
enum geo_map geo_map_from_string(const char *s);
/* The datum a map draws in; _GEO_DATUM_INVALID for GEO_MAP_NONE. */
enum geo_datum geo_map_datum(enum geo_map m);

/* Checks a reported fix: finite latitude in [-90, 90], longitude in
 * [-180, 180], not exactly 0,0, accuracy (metres, the radius of the
 * device's error circle) finite, > 0 and <= GEO_ACCURACY_MAX_M. Returns the
 * first problem found, GEO_FIX_OK if none. */
enum geo_fix_problem geo_fix_check(double lat, double lon, double accuracy_m);
/* An English sentence for logs and config errors ("latitude is outside
 * -90..90"); never NULL. */
const char *geo_fix_problem_to_string(enum geo_fix_problem p);

/* Great-circle distance in metres between two points on a sphere of
 * GEO_EARTH_RADIUS_M (haversine; exact for antipodes too). Both points in
 * the same datum. */
double geo_distance_m(struct geo_point a, struct geo_point b);

/* Whether GCJ-02 applies at p: the bounding box of China that the public
 * converters use (lon 72.004..137.8347, lat 0.8293..55.8271). Outside it
 * both conversions return the point unchanged. */
bool geo_gcj02_applies(struct geo_point p);
/* WGS-84 -> GCJ-02 (the published offset formula, on the Krasovsky 1940
 * ellipsoid). Non-finite input comes back unchanged. */
struct geo_point geo_wgs84_to_gcj02(struct geo_point wgs);
/* GCJ-02 -> WGS-84 by fixed-point iteration on the forward formula: the
 * result maps forward to gcj within 1e-10 degree (0.01 mm). */
struct geo_point geo_gcj02_to_wgs84(struct geo_point gcj);
/* p in datum from, expressed in datum to (either way, or unchanged). */
struct geo_point geo_convert(struct geo_point p, enum geo_datum from, enum geo_datum to);

/* Parses "lat,lon" in decimal degrees (the home: "31.230416,121.473701";
 * spaces around either number allowed, no exponents, no "nan"): 0, -EINVAL
 * if it is not two decimal numbers, -ERANGE if one is out of range. On
 * error *ret is untouched and, if ret_why is not NULL, *ret_why is an
 * English reason (static) that says what was expected. */
int geo_parse_point(const char *s, struct geo_point *ret, const char **ret_why);
/* Parses "HH:MM-HH:MM" (24 h, local time; the end may be earlier than the
 * start: the hours span midnight) or "always": 0 or -EINVAL; the same range
 * twice ("08:00-08:00") is refused (write "always"). ret_why as above. */
int geo_parse_hours(const char *s, struct geo_hours *ret, const char **ret_why);
/* Whether minute_of_day (0..1439) is within the hours (start inclusive, end
 * exclusive). */
bool geo_hours_contain(const struct geo_hours *h, unsigned minute_of_day);

/* Where p is relative to the circle of radius_m around center (same datum). */
struct geo_zone_pos geo_zone_where(struct geo_point center, double radius_m, struct geo_point p);
/* Formats a distance for people: "35 m", "850 m", "1.2 km", "12 km" (the
 * same in every language the notices use). Returns buf. */
char *geo_format_distance(char *buf, size_t n, double metres);

/* Writes a link to map that marks p (given in datum `datum`) into buf,
 * converted to the datum that map draws in; label (UTF-8, may be NULL) is
 * shown by maps that show one (Amap's "name"), percent-encoded:
 *   amap: https://uri.amap.com/marker?position=LON,LAT&name=LABEL&src=anju&coordinate=gaode&callnative=0
 *   osm:  https://www.openstreetmap.org/?mlat=LAT&mlon=LON#map=17/LAT/LON
 * Coordinates have 6 decimals (0.1 m). Returns the length written, -EINVAL
 * for GEO_MAP_NONE, an unknown map or datum, a point that fails
 * geo_fix_check() or a label that is not UTF-8, -ENOBUFS if buf is too small
 * (buf then holds ""). */
int geo_map_link(enum geo_map map, struct geo_point p, enum geo_datum datum, const char *label,
                 char *buf, size_t n);
