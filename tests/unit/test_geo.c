/* Geography (geo.c) and the safe zone (geofence.c), issue 14.
 *
 * Distances and the GCJ-02 datum are checked against values others
 * published (each cited where it is used: data only, no code taken); the
 * safe zone is replayed on a driven clock like tests/unit/test_timeline.c:
 * fixes at their times, geofence_tick() at every deadline the fence asks
 * for, and each test states what the people on the ladder would see.
 *
 * The clock: `now` is usec since WALL0, local midnight of Monday 2026-11-23
 * in Asia/Shanghai, so AT(day, h, m) reads as the local time. */
#include "unit.h"
#include "geo.h"
#include "geofence.h"
#include "util.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* 2026-11-23 00:00 +08:00 (TZ=Asia/Shanghai date -d @1795363200). */
#define WALL0 (UINT64_C(1795363200) * USEC_PER_SEC)
#define MONO0 (UINT64_C(5000) * USEC_PER_SEC)

#define SECS(x)  ((uint64_t) (x) * USEC_PER_SEC)
#define MINS(x)  ((uint64_t) (x) * USEC_PER_MIN)
#define HOURS(x) ((uint64_t) (x) * USEC_PER_HOUR)
#define DAYS(x)  ((uint64_t) (x) * USEC_PER_DAY)
#define AT(d, h, m) (DAYS(d) + HOURS(h) + MINS(m))

static struct geo_point pt(double lat, double lon) {
        return (struct geo_point) { .lat = lat, .lon = lon };
}

/* ======================================================================= */
/* Distance                                                                 */
/* ======================================================================= */

/* Rosetta Code, "Haversine formula" (rosettacode.org/wiki/Haversine_formula):
 * Nashville BNA (36.12, -86.67) to Los Angeles LAX (33.94, -118.40) is
 * 2886.44444283798 km on a sphere of 6371.0 km and 2887.25995060711 km on
 * one of 6372.8 km. Our sphere is 6371.0088 km, so the angle is compared. */
START_TEST(test_distance_matches_rosetta_codes_bna_to_lax) {
        double d = geo_distance_m(pt(36.12, -86.67), pt(33.94, -118.40));
        double angle = d / GEO_EARTH_RADIUS_M;

        ck_assert_double_eq_tol(angle * 6371.0, 2886.44444283798, 1e-6);
        ck_assert_double_eq_tol(angle * 6372.8, 2887.25995060711, 1e-6);
        ck_assert_double_eq_tol(d, 2886448.43, 1.0);    /* the same on R1 = 6371008.8 m */
        ck_assert_double_eq(d, geo_distance_m(pt(33.94, -118.40), pt(36.12, -86.67)));
}
END_TEST

/* Ed Williams, Aviation Formulary V1.47, "Worked examples"
 * (edwilliams.org/avform147.htm): LAX (33°57'N, 118°24'W) to JFK
 * (40°38'N, 73°47'W) is 0.623585 radians = 2144 nm. */
START_TEST(test_distance_matches_the_aviation_formularys_lax_to_jfk) {
        double d = geo_distance_m(pt(33 + 57 / 60.0, -(118 + 24 / 60.0)), pt(40 + 38 / 60.0, -(73 + 47 / 60.0)));
        double angle = d / GEO_EARTH_RADIUS_M;

        ck_assert_double_eq_tol(angle, 0.623585, 0.5e-6);
        ck_assert_double_eq_tol(angle * 180 / M_PI * 60, 2144, 0.5);  /* 1 nm = 1 arc minute */
}
END_TEST

/* The short distances of a safe zone: one arc second of latitude (30.9 m on
 * R1), along a meridian and across the equator, stays exact (no
 * cancellation); a point to itself is 0; antipodes are half the
 * circumference, not NaN. */
START_TEST(test_distance_is_exact_at_zone_scale_and_at_the_antipode) {
        double arcsec = GEO_EARTH_RADIUS_M * M_PI / (180.0 * 3600.0);

        ck_assert_double_eq_tol(geo_distance_m(pt(31.2, 121.45), pt(31.2 + 1 / 3600.0, 121.45)), arcsec, 1e-6);
        ck_assert_double_eq_tol(geo_distance_m(pt(-0.5 / 3600, 0), pt(0.5 / 3600, 0)), arcsec, 1e-6);
        ck_assert_double_eq(geo_distance_m(pt(31.2, 121.45), pt(31.2, 121.45)), 0);
        ck_assert_double_eq_tol(geo_distance_m(pt(31.2, 121.45), pt(-31.2, -58.55)), M_PI * GEO_EARTH_RADIUS_M, 1);
        ck_assert_double_eq_tol(geo_distance_m(pt(90, 0), pt(-90, 0)), M_PI * GEO_EARTH_RADIUS_M, 1);
}
END_TEST

START_TEST(test_zone_where_puts_the_border_at_the_radius) {
        struct geo_point home = pt(31.2, 121.45);
        double m_per_deg = GEO_EARTH_RADIUS_M * M_PI / 180;
        struct geo_zone_pos in = geo_zone_where(home, 300, pt(31.2 + 299.5 / m_per_deg, 121.45));
        struct geo_zone_pos out = geo_zone_where(home, 300, pt(31.2 + 300.5 / m_per_deg, 121.45));

        ck_assert(in.inside);
        ck_assert_double_eq_tol(in.distance_m, 299.5, 1e-6);
        ck_assert(!out.inside);
        ck_assert_double_eq_tol(out.distance_m, 300.5, 1e-6);
}
END_TEST

START_TEST(test_format_distance_reads_as_people_say_it) {
        char b[32];

        ck_assert_str_eq(geo_format_distance(b, sizeof b, 35.4), "35 m");
        ck_assert_str_eq(geo_format_distance(b, sizeof b, 849), "850 m");
        ck_assert_str_eq(geo_format_distance(b, sizeof b, 994), "990 m");
        ck_assert_str_eq(geo_format_distance(b, sizeof b, 996), "1.0 km");
        ck_assert_str_eq(geo_format_distance(b, sizeof b, 1234), "1.2 km");
        ck_assert_str_eq(geo_format_distance(b, sizeof b, 12345), "12 km");
        ck_assert_str_eq(geo_format_distance(b, sizeof b, NAN), "?");
}
END_TEST

/* ======================================================================= */
/* GCJ-02                                                                   */
/* ======================================================================= */

/* WGS-84 -> GCJ-02 pairs published by others, with how close we must come.
 * The open-source converters implement the same public formula, so they
 * must agree to their printed digits; Amap's server is the datum's owner. */
static const struct {
        const char *source;
        double wgs_lat, wgs_lon, gcj_lat, gcj_lon;
        double tol_m;
} gcj_refs[] = {
        /* github.com/wandergis/coordtransform, README.md, "wgs84togcj02(116.404, 39.915)". */
        { "coordtransform README, Beijing", 39.915, 116.404, 39.91640428150164, 116.41024449916938, 0.01 },
        /* github.com/googollee/eviltransform, c/test.c and go/transform_test.go (test table). */
        { "eviltransform tests, Shanghai", 31.1774276, 121.5272106, 31.17530398364597, 121.531541859215, 0.01 },
        { "eviltransform tests, Shenzhen", 22.543847, 113.912316, 22.540796131694766, 113.9171764808363, 0.01 },
        { "eviltransform tests, Beijing", 39.911954, 116.377817, 39.91334545536069, 116.38404722455657, 0.01 },
        /* github.com/hujiulong/gcoord, test/unit/crs/WGS84.spec.ts, "WGS84 to GCJ02" [123, 45]
         * (8 decimals printed: 1 mm). */
        { "gcoord tests, Heilongjiang", 45, 123, 45.00197815, 123.00607541, 0.01 },
        /* Amap's Web service API, coordinate convert (lbs.amap.com/api/webservice/guide/api/convert,
         * coordsys=gps): the documented response to locations=116.481499,39.990475|116.481499,39.990375
         * is "116.487585177952,39.991754014757;116.487585177952,39.991653917101". Amap's own server,
         * not the public formula: we agree to 4 cm. */
        { "Amap convert API, Beijing 1", 39.990475, 116.481499, 39.991754014757, 116.487585177952, 0.1 },
        { "Amap convert API, Beijing 2", 39.990375, 116.481499, 39.991653917101, 116.487585177952, 0.1 },
};

START_TEST(test_gcj02_matches_published_reference_points) {
        for (size_t i = 0; i < ELEMENTSOF(gcj_refs); i++) {
                struct geo_point g = geo_wgs84_to_gcj02(pt(gcj_refs[i].wgs_lat, gcj_refs[i].wgs_lon));
                double off = geo_distance_m(g, pt(gcj_refs[i].gcj_lat, gcj_refs[i].gcj_lon));
                double shift = geo_distance_m(g, pt(gcj_refs[i].wgs_lat, gcj_refs[i].wgs_lon));

                ck_assert_msg(off < gcj_refs[i].tol_m, "%s: %.6f,%.6f is %.3f m from the published point",
                              gcj_refs[i].source, g.lat, g.lon, off);
                /* And the shift is what the issue warns about: hundreds of metres. */
                ck_assert_msg(shift > 100 && shift < 1000, "%s: shift %.0f m", gcj_refs[i].source, shift);
        }
}
END_TEST

/* The inverse, against the same points read backwards, and against
 * gcoord's own GCJ02 -> WGS84 of [123, 45] (test/unit/crs/GCJ02.spec.ts:
 * 122.99395597, 44.99804071; gcoord iterates to 1e-6 degree, 0.1 m). */
START_TEST(test_gcj02_to_wgs84_recovers_the_published_gps_points) {
        struct geo_point w;

        for (size_t i = 0; i < ELEMENTSOF(gcj_refs); i++) {
                w = geo_gcj02_to_wgs84(pt(gcj_refs[i].gcj_lat, gcj_refs[i].gcj_lon));
                ck_assert_msg(geo_distance_m(w, pt(gcj_refs[i].wgs_lat, gcj_refs[i].wgs_lon)) < gcj_refs[i].tol_m,
                              "%s: back to %.7f,%.7f", gcj_refs[i].source, w.lat, w.lon);
        }
        w = geo_gcj02_to_wgs84(pt(45, 123));
        ck_assert_double_eq_tol(w.lat, 44.99804071, 1e-6);
        ck_assert_double_eq_tol(w.lon, 122.99395597, 1e-6);
}
END_TEST

/* Every 0.5° x 0.5° over mainland China's latitudes and longitudes:
 * WGS -> GCJ -> WGS comes back within 0.5 m (in fact within a millimetre),
 * and GCJ -> WGS -> GCJ too. */
START_TEST(test_gcj02_round_trip_is_under_half_a_metre_everywhere) {
        double worst = 0;
        unsigned n = 0;

        for (double lat = 18.0; lat <= 54.0; lat += 0.5)
                for (double lon = 73.5; lon <= 135.0; lon += 0.5) {
                        struct geo_point w = pt(lat, lon);
                        double a = geo_distance_m(geo_gcj02_to_wgs84(geo_wgs84_to_gcj02(w)), w);
                        double b = geo_distance_m(geo_wgs84_to_gcj02(geo_gcj02_to_wgs84(w)), w);

                        worst = fmax(worst, fmax(a, b));
                        n++;
                }
        ck_assert_uint_gt(n, 8000);
        ck_assert_msg(worst < 0.001, "worst round trip %.6f m", worst);
}
END_TEST

START_TEST(test_gcj02_leaves_points_outside_china_unchanged) {
        static const struct geo_point abroad[] = {
                { 35.6762, 139.6503 },  /* Tokyo: east of the box */
                { 52.52, 13.405 },      /* Berlin */
                { -33.8688, 151.2093 }, /* Sydney */
                { 40.7128, -74.006 },   /* New York */
                { 55.7558, 37.6173 },   /* Moscow */
                { 56.0, 100.0 },        /* north of the box */
        };

        for (size_t i = 0; i < ELEMENTSOF(abroad); i++) {
                struct geo_point a = geo_wgs84_to_gcj02(abroad[i]), b = geo_gcj02_to_wgs84(abroad[i]);

                ck_assert(!geo_gcj02_applies(abroad[i]));
                ck_assert_double_eq(a.lat, abroad[i].lat);
                ck_assert_double_eq(a.lon, abroad[i].lon);
                ck_assert_double_eq(b.lat, abroad[i].lat);
                ck_assert_double_eq(b.lon, abroad[i].lon);
        }
        ck_assert(geo_gcj02_applies(pt(31.2, 121.45)));
        /* A NaN comes back as it went in, not as a point somewhere. */
        ck_assert(isnan(geo_wgs84_to_gcj02(pt(NAN, 121)).lat));
        ck_assert(isnan(geo_gcj02_to_wgs84(pt(31, NAN)).lon));
}
END_TEST

START_TEST(test_convert_goes_either_way_and_keeps_a_datum_to_itself) {
        struct geo_point w = pt(39.915, 116.404);
        struct geo_point g = geo_convert(w, GEO_DATUM_WGS84, GEO_DATUM_GCJ02);
        struct geo_point same = geo_convert(w, GEO_DATUM_GCJ02, GEO_DATUM_GCJ02);

        ck_assert_double_eq_tol(g.lat, 39.91640428150164, 1e-9);
        ck_assert(geo_distance_m(geo_convert(g, GEO_DATUM_GCJ02, GEO_DATUM_WGS84), w) < 0.001);
        ck_assert_double_eq(same.lat, w.lat);
        ck_assert_double_eq(same.lon, w.lon);
}
END_TEST

START_TEST(test_datum_and_map_names_round_trip) {
        for (int i = 0; i < _GEO_DATUM_MAX; i++)
                ck_assert_int_eq(geo_datum_from_string(geo_datum_to_string((enum geo_datum) i)), i);
        for (int i = 0; i < _GEO_MAP_MAX; i++)
                ck_assert_int_eq(geo_map_from_string(geo_map_to_string((enum geo_map) i)), i);
        ck_assert_str_eq(geo_datum_to_string(GEO_DATUM_GCJ02), "gcj02");
        ck_assert_int_eq(geo_datum_from_string("WGS84"), _GEO_DATUM_INVALID);
        ck_assert_int_eq(geo_datum_from_string("bd09"), _GEO_DATUM_INVALID);
        ck_assert_int_eq(geo_map_from_string("google"), _GEO_MAP_INVALID);
        ck_assert_int_eq(geo_map_datum(GEO_MAP_AMAP), GEO_DATUM_GCJ02);
        ck_assert_int_eq(geo_map_datum(GEO_MAP_OSM), GEO_DATUM_WGS84);
        ck_assert_int_eq(geo_map_datum(GEO_MAP_NONE), _GEO_DATUM_INVALID);
}
END_TEST

/* ======================================================================= */
/* Fixes and settings                                                       */
/* ======================================================================= */

START_TEST(test_fix_check_names_each_problem) {
        static const struct {
                double lat, lon, acc;
                enum geo_fix_problem want;
        } cases[] = {
                { 31.2, 121.45, 15, GEO_FIX_OK },
                { 90, 180, GEO_ACCURACY_MAX_M, GEO_FIX_OK },
                { -90, -180, 0.1, GEO_FIX_OK },
                { NAN, 121.45, 15, GEO_FIX_LAT_NOT_A_NUMBER },
                { INFINITY, 121.45, 15, GEO_FIX_LAT_NOT_A_NUMBER },
                { 90.000001, 121.45, 15, GEO_FIX_LAT_RANGE },
                { -91, 121.45, 15, GEO_FIX_LAT_RANGE },
                { 31.2, -INFINITY, 15, GEO_FIX_LON_NOT_A_NUMBER },
                { 31.2, 180.5, 15, GEO_FIX_LON_RANGE },
                { 31.2, -181, 15, GEO_FIX_LON_RANGE },
                { 0, 0, 15, GEO_FIX_NULL_ISLAND },
                { 31.2, 121.45, NAN, GEO_FIX_ACCURACY_NOT_A_NUMBER },
                { 31.2, 121.45, 0, GEO_FIX_ACCURACY_NOT_POSITIVE },
                { 31.2, 121.45, -5, GEO_FIX_ACCURACY_NOT_POSITIVE },
                { 31.2, 121.45, GEO_ACCURACY_MAX_M + 1, GEO_FIX_ACCURACY_TOO_LARGE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_msg(geo_fix_check(cases[i].lat, cases[i].lon, cases[i].acc) == cases[i].want,
                              "case %zu: %s", i, geo_fix_problem_to_string(geo_fix_check(cases[i].lat,
                                                                                cases[i].lon, cases[i].acc)));
        /* Every problem has its own sentence. */
        for (int i = 1; i < _GEO_FIX_PROBLEM_MAX; i++)
                for (int j = 0; j < i; j++)
                        ck_assert_str_ne(geo_fix_problem_to_string((enum geo_fix_problem) i),
                                         geo_fix_problem_to_string((enum geo_fix_problem) j));
}
END_TEST

START_TEST(test_parse_point_reads_lat_lon) {
        struct geo_point p;

        ck_assert_int_eq(geo_parse_point("31.230416,121.473701", &p, NULL), 0);
        ck_assert_double_eq(p.lat, 31.230416);
        ck_assert_double_eq(p.lon, 121.473701);
        ck_assert_int_eq(geo_parse_point(" -33.8688 ,\t151.2093 ", &p, NULL), 0);
        ck_assert_double_eq(p.lat, -33.8688);
        ck_assert_double_eq(p.lon, 151.2093);
        ck_assert_int_eq(geo_parse_point("+40,-74", &p, NULL), 0);
        ck_assert_double_eq(p.lon, -74);
        ck_assert_int_eq(geo_parse_point("90,-180", &p, NULL), 0);
}
END_TEST

START_TEST(test_parse_point_refuses_anything_else_and_says_why) {
        static const struct {
                const char *s;
                int r;
                const char *why_has;
        } bad[] = {
                { "", -EINVAL, "lat,lon" },
                { "31.23", -EINVAL, "lat,lon" },
                { "31.23,", -EINVAL, "lat,lon" },
                { ",121.47", -EINVAL, "lat,lon" },
                { "31.23;121.47", -EINVAL, "lat,lon" },
                { "31.23 121.47", -EINVAL, "lat,lon" },
                { "31.23,121.47,5", -EINVAL, "lat,lon" },
                { "1e1,121", -EINVAL, "lat,lon" },
                { "0x1f,121", -EINVAL, "lat,lon" },
                { "nan,121", -EINVAL, "lat,lon" },
                { "inf,121", -EINVAL, "lat,lon" },
                { "31.2.3,121", -EINVAL, "lat,lon" },
                { "-,121", -EINVAL, "lat,lon" },
                { "31,23,121,47", -EINVAL, "lat,lon" },         /* decimal commas */
                { "31.230416000000000000000001,121", -EINVAL, "lat,lon" },
                { "121.473701,31.230416", -ERANGE, "lon,lat" }, /* Amap's order */
                { "91,0", -ERANGE, "latitude" },
                { "-90.5,10", -ERANGE, "latitude" },
                { "45,180.1", -ERANGE, "longitude" },
                { "0,0", -ERANGE, "0,0" },
        };
        struct geo_point p = pt(1, 2);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *why = NULL;
                ck_assert_msg(geo_parse_point(bad[i].s, &p, &why) == bad[i].r, "\"%s\"", bad[i].s);
                ck_assert_msg(why && strstr(why, bad[i].why_has), "\"%s\": %s", bad[i].s, why ? why : "(none)");
        }
        ck_assert_int_eq(geo_parse_point(NULL, &p, NULL), -EINVAL);
        ck_assert_double_eq(p.lat, 1);          /* untouched */
        ck_assert_double_eq(p.lon, 2);
}
END_TEST

START_TEST(test_parse_hours_reads_spans_and_always) {
        struct geo_hours h = { .always = true };
        const char *why = NULL;

        ck_assert_int_eq(geo_parse_hours("20:00-07:00", &h, NULL), 0);
        ck_assert(!h.always);
        ck_assert_uint_eq(h.start_min, 20 * 60);
        ck_assert_uint_eq(h.end_min, 7 * 60);
        ck_assert_int_eq(geo_parse_hours("09:30-17:45", &h, NULL), 0);
        ck_assert_uint_eq(h.start_min, 9 * 60 + 30);
        ck_assert_uint_eq(h.end_min, 17 * 60 + 45);
        ck_assert_int_eq(geo_parse_hours("always", &h, NULL), 0);
        ck_assert(h.always);
        ck_assert_int_eq(geo_parse_hours("Always", &h, NULL), 0);

        static const char *const bad[] = { "", "20:00", "20:00-", "-07:00", "8:00-09:00", "20:00-7:00",
                                           "24:00-07:00", "20:00-07:60", "20:00 - 07:00", "20:00-07:00-08:00",
                                           "never", "20.00-07.00" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                why = NULL;
                ck_assert_msg(geo_parse_hours(bad[i], &h, &why) == -EINVAL, "\"%s\"", bad[i]);
                ck_assert_msg(why && strstr(why, "HH:MM-HH:MM"), "\"%s\": %s", bad[i], why ? why : "(none)");
        }
        ck_assert_int_eq(geo_parse_hours("08:00-08:00", &h, &why), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "always"));
        ck_assert_int_eq(geo_parse_hours(NULL, &h, NULL), -EINVAL);
}
END_TEST

START_TEST(test_hours_spanning_midnight_contain_the_night) {
        struct geo_hours night, day, always = { .always = true };

        ck_assert_int_eq(geo_parse_hours("20:00-07:00", &night, NULL), 0);
        ck_assert_int_eq(geo_parse_hours("07:00-20:00", &day, NULL), 0);
        ck_assert(!geo_hours_contain(&night, 19 * 60 + 59));
        ck_assert(geo_hours_contain(&night, 20 * 60));
        ck_assert(geo_hours_contain(&night, 23 * 60 + 59));
        ck_assert(geo_hours_contain(&night, 0));
        ck_assert(geo_hours_contain(&night, 6 * 60 + 59));
        ck_assert(!geo_hours_contain(&night, 7 * 60));
        ck_assert(!geo_hours_contain(&night, 12 * 60));
        for (unsigned m = 0; m < 1440; m++) {
                ck_assert(geo_hours_contain(&night, m) != geo_hours_contain(&day, m));
                ck_assert(geo_hours_contain(&always, m));
        }
}
END_TEST

/* ======================================================================= */
/* Map links                                                                */
/* ======================================================================= */

/* Amap's URI API, single marker (lbs.amap.com/api/uri-api/guide/mobile-web/point
 * and .../uri-api/gettingstarted): position=lon,lat; name; src; coordinate=gaode
 * (GCJ-02) or wgs84; callnative=0|1. The getting-started example marks
 * 首开广场 at 116.473195,39.993253 (GCJ-02). */
START_TEST(test_amap_link_is_the_documented_marker_uri) {
        char buf[512];
        int r;

        r = geo_map_link(GEO_MAP_AMAP, pt(39.993253, 116.473195), GEO_DATUM_GCJ02, NULL, buf, sizeof buf);
        ck_assert_str_eq(buf, "https://uri.amap.com/marker?position=116.473195,39.993253"
                              "&src=anju&coordinate=gaode&callnative=0");
        ck_assert_int_eq(r, (int) strlen(buf));
        geo_map_link(GEO_MAP_AMAP, pt(39.993253, 116.473195), GEO_DATUM_GCJ02, "首开广场", buf, sizeof buf);
        ck_assert_str_eq(buf, "https://uri.amap.com/marker?position=116.473195,39.993253"
                              "&name=%E9%A6%96%E5%BC%80%E5%B9%BF%E5%9C%BA&src=anju&coordinate=gaode&callnative=0");
        geo_map_link(GEO_MAP_AMAP, pt(39.993253, 116.473195), GEO_DATUM_GCJ02, "Ye & co/1?", buf, sizeof buf);
        ck_assert_ptr_nonnull(strstr(buf, "&name=Ye%20%26%20co%2F1%3F&src=anju"));
}
END_TEST

/* A GPS fix on an Amap link lands where Amap's own converter puts it (the
 * convert API example above: 116.487585177952,39.991754014757). */
START_TEST(test_amap_link_of_a_gps_fix_is_converted_to_gcj02) {
        char buf[512];
        double lon, lat;
        int n = 0;

        ck_assert_int_gt(geo_map_link(GEO_MAP_AMAP, pt(39.990475, 116.481499), GEO_DATUM_WGS84, NULL, buf,
                                      sizeof buf), 0);
        ck_assert_int_eq(sscanf(buf, "https://uri.amap.com/marker?position=%lf,%lf&%n", &lon, &lat, &n), 2);
        ck_assert_int_gt(n, 0);
        ck_assert_msg(geo_distance_m(pt(lat, lon), pt(39.991754014757, 116.487585177952)) < 0.2, "%s", buf);
        ck_assert_ptr_nonnull(strstr(buf, "coordinate=gaode"));
}
END_TEST

/* openstreetmap.org: ?mlat=&mlon= put a marker (openstreetmap-website,
 * app/assets/javascripts/osm.js.erb, mapParams) and #map=zoom/lat/lon sets
 * the view. WGS-84: a GCJ-02 reading is converted back. */
START_TEST(test_osm_link_marks_the_wgs84_point) {
        char buf[512];
        double mlat, mlon;

        geo_map_link(GEO_MAP_OSM, pt(31.230416, 121.473701), GEO_DATUM_WGS84, "ignored", buf, sizeof buf);
        ck_assert_str_eq(buf, "https://www.openstreetmap.org/?mlat=31.230416&mlon=121.473701"
                              "#map=17/31.230416/121.473701");
        geo_map_link(GEO_MAP_OSM, pt(39.91640428150164, 116.41024449916938), GEO_DATUM_GCJ02, NULL, buf,
                     sizeof buf);
        ck_assert_int_eq(sscanf(buf, "https://www.openstreetmap.org/?mlat=%lf&mlon=%lf", &mlat, &mlon), 2);
        ck_assert_double_eq_tol(mlat, 39.915, 1e-6);
        ck_assert_double_eq_tol(mlon, 116.404, 1e-6);
        geo_map_link(GEO_MAP_OSM, pt(-33.8688, 151.2093), GEO_DATUM_GCJ02, NULL, buf, sizeof buf);
        ck_assert_str_eq(buf, "https://www.openstreetmap.org/?mlat=-33.868800&mlon=151.209300"
                              "#map=17/-33.868800/151.209300");
}
END_TEST

START_TEST(test_map_link_refuses_what_it_cannot_write) {
        char buf[512], small[40];

        ck_assert_int_eq(geo_map_link(GEO_MAP_NONE, pt(31.2, 121.4), GEO_DATUM_WGS84, NULL, buf, sizeof buf),
                         -EINVAL);
        ck_assert_str_eq(buf, "");
        ck_assert_int_eq(geo_map_link((enum geo_map) 7, pt(31.2, 121.4), GEO_DATUM_WGS84, NULL, buf, sizeof buf),
                         -EINVAL);
        ck_assert_int_eq(geo_map_link(GEO_MAP_OSM, pt(31.2, 121.4), (enum geo_datum) 5, NULL, buf, sizeof buf),
                         -EINVAL);
        ck_assert_int_eq(geo_map_link(GEO_MAP_OSM, pt(NAN, 121.4), GEO_DATUM_WGS84, NULL, buf, sizeof buf),
                         -EINVAL);
        ck_assert_int_eq(geo_map_link(GEO_MAP_OSM, pt(95, 121.4), GEO_DATUM_WGS84, NULL, buf, sizeof buf),
                         -EINVAL);
        ck_assert_int_eq(geo_map_link(GEO_MAP_AMAP, pt(31.2, 121.4), GEO_DATUM_WGS84, "bad \xe5\x8f", buf,
                                      sizeof buf), -EINVAL);
        ck_assert_int_eq(geo_map_link(GEO_MAP_AMAP, pt(31.2, 121.4), GEO_DATUM_WGS84, "\xc0\xaf", buf,
                                      sizeof buf), -EINVAL);   /* overlong '/' */
        ck_assert_int_eq(geo_map_link(GEO_MAP_AMAP, pt(31.2, 121.4), GEO_DATUM_WGS84, NULL, small, sizeof small),
                         -ENOBUFS);
        ck_assert_str_eq(small, "");
        ck_assert_int_eq(geo_map_link(GEO_MAP_OSM, pt(31.2, 121.4), GEO_DATUM_WGS84, NULL, small, 0), -ENOBUFS);
}
END_TEST

/* ======================================================================= */
/* The safe zone                                                            */
/* ======================================================================= */

/* Her home, WGS-84 (a Shanghai lane). */
static const struct geo_point HOME = { 31.2000, 121.4500 };

static struct geofence fence;
static struct geofence_params params;
static uint64_t now;            /* usec since WALL0 */
static struct geofence_outcome seen[512];
static size_t n_seen;

static uint64_t mono_at(uint64_t t) {
        return MONO0 + t;
}

static uint64_t wall_at(uint64_t t) {
        return WALL0 + t;
}

/* "d0 23:10:00" for a monotonic time. */
static const char *when(uint64_t mono) {
        static char buf[4][32];
        static unsigned k;
        char *b = buf[k++ % 4];
        uint64_t t = (mono - MONO0) / USEC_PER_SEC;

        snprintf(b, sizeof buf[0], "d%u %02u:%02u:%02u", (unsigned) (t / 86400), (unsigned) (t / 3600 % 24),
                 (unsigned) (t / 60 % 60), (unsigned) (t % 60));
        return b;
}

static void dump_seen(void) {
        fprintf(stderr, "outcomes (%zu):\n", n_seen);
        for (size_t i = 0; i < n_seen; i++)
                fprintf(stderr, "  %s %-7s %5.0f m acc %3.0f fix age %4.0f s%s left %s for %.0f s\n",
                        when(seen[i].mono), geofence_outcome_kind_to_string(seen[i].kind), seen[i].distance_m,
                        seen[i].fix.accuracy_m, (double) seen[i].fix_age / 1e6, seen[i].stale ? " STALE" : "",
                        when(seen[i].left.fix_wall - WALL0 + MONO0), (double) seen[i].duration / 1e6);
}

static void collect(const struct geofence_outcome *o, size_t n) {
        ck_assert_msg(n_seen + n <= ELEMENTSOF(seen), "outcome log full");
        memcpy(&seen[n_seen], o, n * sizeof *o);
        n_seen += n;
}

/* The daemon's timer: geofence_tick() at every deadline up to t, in order. */
static void advance_to(uint64_t t) {
        unsigned guard = 0;

        ck_assert_msg(t >= now, "the driven clock does not go back");
        for (;;) {
                struct geofence_outcome o[GEOFENCE_MAX_OUTCOMES];
                uint64_t next = geofence_next_deadline(&fence);

                if (next == GEOFENCE_NEVER || next > mono_at(t))
                        break;
                ck_assert_msg(++guard < 100, "deadline stuck at %s", when(next));
                if (next > mono_at(now))
                        now = next - MONO0;
                collect(o, geofence_tick(&fence, mono_at(now), wall_at(now), o, ELEMENTSOF(o)));
        }
        now = t;
}

/* A point d metres due north of home (on the sphere: exactly d away). */
static struct geo_point north_of_home(double d) {
        return pt(HOME.lat + d / GEO_EARTH_RADIUS_M * 180 / M_PI, HOME.lon);
}

/* A fix taken `age` before it arrives at t, d metres from home. */
static size_t fix_aged(uint64_t t, double d, double acc, uint64_t age) {
        struct geofence_outcome o[GEOFENCE_MAX_OUTCOMES];
        struct geofence_fix f = { .p = north_of_home(d), .accuracy_m = acc, .fix_wall = wall_at(t) - age };
        size_t n;

        advance_to(t);
        n = geofence_feed(&fence, &f, mono_at(now), wall_at(now), o, ELEMENTSOF(o));
        collect(o, n);
        return n;
}

static size_t fix(uint64_t t, double d, double acc) {
        return fix_aged(t, d, acc, 0);
}

/* Walks from d0 to d1 metres, a fix every minute from t0 to t1 inclusive. */
static void walk(uint64_t t0, uint64_t t1, double d0, double d1, double acc) {
        uint64_t steps = (t1 - t0) / USEC_PER_MIN;

        for (uint64_t i = 0; i <= steps; i++)
                fix(t0 + MINS(i), d0 + (d1 - d0) * (double) i / (double) (steps ? steps : 1), acc);
}

/* [rule geofence] as the issue describes it for the `high` profile. */
static void start(void) {
        params = (struct geofence_params) {
                .enabled = true, .center = HOME, .radius_m = 300, .grace = MINS(10), .min_accuracy_m = 100,
                .stale_after = MINS(15),
        };
        ck_assert_int_eq(geo_parse_hours("20:00-07:00", &params.hours, NULL), 0);
        geofence_init(&fence, &params);
        now = 0;
        n_seen = 0;
}

/* The log is exactly these outcomes at these times. */
static void expect_log(const enum geofence_outcome_kind *kinds, const uint64_t *times, size_t n) {
        bool ok = n_seen == n;

        for (size_t i = 0; ok && i < n; i++)
                ok = seen[i].kind == kinds[i] && seen[i].mono == mono_at(times[i]);
        if (!ok)
                dump_seen();
        ck_assert_msg(ok, "expected %zu outcomes, saw %zu (see the log above)", n, n_seen);
}

static void expect_nothing(void) {
        if (n_seen)
                dump_seen();
        ck_assert_uint_eq(n_seen, 0);
}

/* The night walk of the issue: inside from 21:00, out of the door at 23:10,
 * away a fix a minute; the alarm exactly 10 min after the first fix outside;
 * the band goes quiet at 23:30 (STALE at 23:45, said, not hidden); fixes
 * again at 23:52 (FRESH); she turns round and walks home; BACK once, at the
 * first fix well inside (270 m: 300 m less 10 %). */
START_TEST(test_geofence_night_walk_raises_at_grace_goes_stale_and_clears_once) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE, GEOFENCE_STALE, GEOFENCE_FRESH,
                                                            GEOFENCE_BACK };
        const uint64_t times[] = { AT(0, 23, 20), AT(0, 23, 45), AT(0, 23, 52), AT(1, 0, 43) };
        struct geofence_fix track[GEOFENCE_TRACK_MAX + 5], last;
        uint64_t age;
        size_t n;

        start();
        for (uint64_t t = AT(0, 21, 0); t < AT(0, 23, 10); t += MINS(5))
                fix(t, 40, 20);                         /* at home: indoor Wi-Fi fixes */
        ck_assert_int_eq(geofence_state(&fence), GEOFENCE_STATE_INSIDE);
        walk(AT(0, 23, 10), AT(0, 23, 30), 320, 1100, 12);      /* away, 39 m a minute */
        advance_to(AT(0, 23, 52));                              /* nothing from the band */
        walk(AT(0, 23, 52), AT(1, 0, 50), 1150, 130, 12);       /* home again */
        advance_to(AT(1, 3, 0));
        expect_log(kinds, times, ELEMENTSOF(kinds));

        /* The alarm: where and when she left, where she is, 10 min out. */
        ck_assert_uint_eq(seen[0].left.fix_wall, wall_at(AT(0, 23, 10)));
        ck_assert_double_eq_tol(geo_distance_m(HOME, seen[0].left.p), 320, 0.01);
        ck_assert_double_eq_tol(seen[0].distance_m, 320 + 39 * 9, 0.01);   /* the 23:19 fix */
        ck_assert_uint_eq(seen[0].fix_age, MINS(1));
        ck_assert_uint_eq(seen[0].duration, MINS(10));
        ck_assert(!seen[0].stale);
        /* Stale: the 23:30 fix at 1100 m, 15 min old, said. */
        ck_assert(seen[1].stale);
        ck_assert_uint_eq(seen[1].fix_age, MINS(15));
        ck_assert_double_eq_tol(seen[1].distance_m, 1100, 0.01);
        /* Fresh: the 23:52 fix. */
        ck_assert(!seen[2].stale);
        ck_assert_double_eq_tol(seen[2].distance_m, 1150, 0.01);
        ck_assert_uint_eq(seen[2].fix_age, 0);
        /* Back: the first fix under 270 m (253 m; the one before was 271 m),
         * 1 h 33 min after she left. */
        ck_assert_double_lt(seen[3].distance_m, 270);
        ck_assert_double_gt(seen[3].distance_m, 250);
        ck_assert_uint_eq(seen[3].duration, MINS(93));
        ck_assert_int_eq(geofence_state(&fence), GEOFENCE_STATE_INSIDE);

        /* The track since she left: the last 32 fixes (21 out, 52 back:
         * the oldest dropped), in order, ending with the one that cleared. */
        n = geofence_track(&fence, track, ELEMENTSOF(track));
        ck_assert_uint_eq(n, GEOFENCE_TRACK_MAX);
        for (size_t i = 1; i < n; i++)
                ck_assert_uint_eq(track[i].fix_wall, track[i - 1].fix_wall + MINS(1));
        ck_assert_uint_eq(track[n - 1].fix_wall, wall_at(AT(1, 0, 43)));
        ck_assert_uint_eq(geofence_track(&fence, track, 3), 3);
        ck_assert_uint_eq(track[0].fix_wall, wall_at(AT(1, 0, 43) - MINS(31)));

        /* The last known fix for a call: 0:50, 130 m, at home. */
        ck_assert(geofence_last_fix(&fence, mono_at(now), &last, &age));
        ck_assert_uint_eq(last.fix_wall, wall_at(AT(1, 0, 50)));
        ck_assert_uint_eq(age, now - AT(1, 0, 50));
        ck_assert_int_eq(geofence_at_home(&fence), 1);
}
END_TEST

START_TEST(test_geofence_back_within_grace_raises_nothing) {
        start();
        fix(AT(0, 21, 0), 40, 20);
        walk(AT(0, 23, 10), AT(0, 23, 14), 320, 420, 10);
        fix(AT(0, 23, 15), 100, 10);            /* back in after 5 min */
        ck_assert_int_eq(geofence_state(&fence), GEOFENCE_STATE_INSIDE);
        ck_assert_uint_eq(geofence_next_deadline(&fence), GEOFENCE_NEVER);
        advance_to(AT(1, 7, 0));
        expect_nothing();
}
END_TEST

/* A walk in the afternoon is her own business: nothing, however long. */
START_TEST(test_geofence_outside_the_hours_raises_nothing) {
        start();
        fix(AT(0, 13, 0), 40, 20);
        walk(AT(0, 14, 0), AT(0, 17, 0), 320, 2500, 10);
        walk(AT(0, 17, 1), AT(0, 19, 30), 2500, 50, 10);
        advance_to(AT(0, 21, 0));
        expect_nothing();
}
END_TEST

/* Out since 19:00 and still out when the hours begin: the grace counts from
 * 20:00, so the alarm is at 20:10, not at 20:00:00 sharp for a walk that was
 * ordinary until then. */
START_TEST(test_geofence_out_before_the_hours_counts_grace_from_their_start) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE };
        const uint64_t times[] = { AT(0, 20, 10) };

        start();
        walk(AT(0, 19, 0), AT(0, 20, 30), 500, 600, 10);
        expect_log(kinds, times, 1);
        ck_assert_uint_eq(seen[0].left.fix_wall, wall_at(AT(0, 19, 0)));
        ck_assert_uint_eq(seen[0].duration, MINS(70));
}
END_TEST

/* The hours end before the grace is over (out at 06:55, hours end 07:00):
 * nothing that morning; still out when they begin again, the alarm is at
 * 20:10. A raised alarm, though, lasts past the end of the hours until she
 * is back. */
START_TEST(test_geofence_hours_that_end_stop_the_grace_but_not_an_alarm) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE, GEOFENCE_BACK };
        const uint64_t times[] = { AT(1, 20, 10), AT(1, 20, 25) };
        static const enum geofence_outcome_kind kinds2[] = { GEOFENCE_OUTSIDE, GEOFENCE_BACK };
        const uint64_t times2[] = { AT(1, 6, 40), AT(1, 9, 0) };

        start();
        for (uint64_t t = AT(1, 6, 55); t <= AT(1, 20, 20); t += MINS(10))
                fix(t, 800, 10);
        fix(AT(1, 20, 25), 50, 10);
        expect_log(kinds, times, ELEMENTSOF(kinds));

        start();
        for (uint64_t t = AT(1, 6, 30); t <= AT(1, 8, 50); t += MINS(10))
                fix(t, 800, 10);
        fix(AT(1, 9, 0), 50, 10);               /* back at 09:00: still cleared */
        expect_log(kinds2, times2, ELEMENTSOF(kinds2));
}
END_TEST

/* Fixes worse than min_accuracy move nothing: a 500 m cell fix 2 km away
 * does not raise; during an alarm, one at her door does not clear it. They
 * are still the last known fix (the call says how good it is). */
START_TEST(test_geofence_ignores_fixes_worse_than_min_accuracy) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE, GEOFENCE_STALE, GEOFENCE_BACK };
        const uint64_t times[] = { AT(0, 23, 30), AT(0, 23, 45), AT(0, 23, 50) };
        struct geofence_fix last;

        start();
        fix(AT(0, 21, 0), 40, 20);
        for (uint64_t t = AT(0, 22, 0); t <= AT(0, 23, 0); t += MINS(1))
                fix(t, 2000, 500);
        ck_assert_int_eq(geofence_state(&fence), GEOFENCE_STATE_INSIDE);
        ck_assert(geofence_last_fix(&fence, mono_at(now), &last, NULL));
        ck_assert_double_eq(last.accuracy_m, 500);
        ck_assert_int_eq(geofence_at_home(&fence), 0);
        ck_assert_uint_eq(geofence_get_stats(&fence)->inaccurate, 61);

        walk(AT(0, 23, 20), AT(0, 23, 30), 400, 500, 10);
        for (uint64_t t = AT(0, 23, 31); t <= AT(0, 23, 45); t += MINS(1))
                fix(t, 10, 150);                /* "at the door", give or take 150 m */
        fix(AT(0, 23, 50), 20, 10);
        expect_log(kinds, times, ELEMENTSOF(kinds));
        /* ... nor do they count as news: the 23:30 fix went stale at 23:45. */
        ck_assert(seen[1].stale);
        ck_assert_double_eq(seen[1].fix.accuracy_m, 10);
        ck_assert_double_eq(seen[2].fix.accuracy_m, 10);
}
END_TEST

/* GPS wander at the border for two hours: fixes at 280-299 m raise nothing;
 * fixes that cross it (310, 290, 305, 285 ...) raise once after the grace
 * and never flap back and forth; a fix well inside clears once. */
START_TEST(test_geofence_hovering_at_the_border_does_not_flap) {
        static const double inside_wander[] = { 280, 299, 290, 295, 285, 298 };
        static const double border_wander[] = { 310, 290, 305, 285, 302, 275 };
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE, GEOFENCE_BACK };
        const uint64_t times[] = { AT(0, 22, 10), AT(1, 0, 1) };
        unsigned i = 0;

        start();
        for (uint64_t t = AT(0, 20, 0); t < AT(0, 22, 0); t += MINS(1))
                fix(t, inside_wander[i++ % ELEMENTSOF(inside_wander)], 8);
        expect_nothing();

        i = 0;
        for (uint64_t t = AT(0, 22, 0); t < AT(1, 0, 0); t += MINS(1))
                fix(t, border_wander[i++ % ELEMENTSOF(border_wander)], 8);
        fix(AT(1, 0, 1), 265, 8);               /* under 270 m: back */
        advance_to(AT(1, 2, 0));
        expect_log(kinds, times, ELEMENTSOF(kinds));
}
END_TEST

START_TEST(test_geofence_disabled_raises_nothing_but_keeps_the_last_fix) {
        struct geofence_fix last;

        start();
        params.enabled = false;
        geofence_set_params(&fence, &params);
        fix(AT(0, 21, 0), 40, 20);
        walk(AT(0, 23, 10), AT(0, 23, 50), 320, 1500, 10);
        advance_to(AT(1, 6, 0));
        expect_nothing();
        ck_assert_uint_eq(geofence_next_deadline(&fence), GEOFENCE_NEVER);
        ck_assert(geofence_last_fix(&fence, mono_at(now), &last, NULL));
        ck_assert_double_eq_tol(geo_distance_m(HOME, last.p), 1500, 0.01);
}
END_TEST

/* Disabled while the grace runs: nothing then; enabled again, she is judged
 * afresh from the next fix. */
START_TEST(test_geofence_disabled_while_pending_forgets_it) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE };
        const uint64_t times[] = { AT(0, 23, 40) };

        start();
        walk(AT(0, 23, 10), AT(0, 23, 15), 400, 500, 10);
        params.enabled = false;
        geofence_set_params(&fence, &params);
        advance_to(AT(0, 23, 30));
        ck_assert_uint_eq(n_seen, 0);
        params.enabled = true;
        geofence_set_params(&fence, &params);
        walk(AT(0, 23, 30), AT(0, 23, 45), 500, 600, 10);
        expect_log(kinds, times, ELEMENTSOF(kinds));
}
END_TEST

/* A fix taken before the last one arrives late (a band that resends): it
 * neither clears nor moves anything. */
START_TEST(test_geofence_ignores_a_fix_older_than_the_last) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE, GEOFENCE_BACK };
        const uint64_t times[] = { AT(0, 23, 20), AT(0, 23, 40) };

        start();
        walk(AT(0, 23, 10), AT(0, 23, 25), 400, 700, 10);
        fix_aged(AT(0, 23, 26), 50, 10, MINS(10));      /* taken at 23:16, at home?! */
        ck_assert_int_eq(geofence_state(&fence), GEOFENCE_STATE_RAISED);
        ck_assert_uint_eq(geofence_get_stats(&fence)->old, 1);
        fix(AT(0, 23, 27), 700, 10);                    /* the same place as at 23:25 */
        fix(AT(0, 23, 40), 50, 10);
        expect_log(kinds, times, ELEMENTSOF(kinds));
}
END_TEST

/* The grace counts from when the band took the fix, not from when it
 * arrived: a fix 4 min old raises 6 min later. */
START_TEST(test_geofence_grace_counts_from_the_fix_time) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE };
        const uint64_t times[] = { AT(0, 23, 20) };

        start();
        fix_aged(AT(0, 23, 14), 400, 10, MINS(4));
        advance_to(AT(0, 23, 22));
        expect_log(kinds, times, ELEMENTSOF(kinds));
        ck_assert_uint_eq(seen[0].left.fix_wall, wall_at(AT(0, 23, 10)));
}
END_TEST

/* A fix already stale_after old when it arrives (a retained message replayed
 * at start, a band flushing yesterday's buffer) says where she was, not
 * where she is: it is the last known fix, and moves nothing. */
START_TEST(test_geofence_fix_stale_on_arrival_moves_nothing) {
        struct geofence_fix last;
        uint64_t age;

        start();
        fix_aged(AT(0, 23, 0), 2000, 10, HOURS(2));
        advance_to(AT(1, 3, 0));
        expect_nothing();
        ck_assert_int_eq(geofence_state(&fence), GEOFENCE_STATE_UNKNOWN);
        ck_assert(geofence_last_fix(&fence, mono_at(now), &last, &age));
        ck_assert_uint_eq(age, HOURS(6));
        ck_assert_uint_eq(geofence_get_stats(&fence)->late, 1);
}
END_TEST

/* A band whose clock is a day ahead: its fixes count when they arrive, and
 * the next honest fix is not "older than the last". */
START_TEST(test_geofence_does_not_believe_a_fix_time_in_the_future) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE, GEOFENCE_BACK };
        const uint64_t times[] = { AT(0, 23, 20), AT(0, 23, 30) };
        struct geofence_outcome o[GEOFENCE_MAX_OUTCOMES];
        struct geofence_fix f = { .p = north_of_home(400), .accuracy_m = 10 };

        start();
        advance_to(AT(0, 23, 10));
        f.fix_wall = wall_at(AT(1, 23, 10));
        collect(o, geofence_feed(&fence, &f, mono_at(now), wall_at(now), o, ELEMENTSOF(o)));
        ck_assert_uint_eq(geofence_get_stats(&fence)->future, 1);
        walk(AT(0, 23, 11), AT(0, 23, 25), 400, 500, 10);
        fix(AT(0, 23, 30), 50, 10);
        expect_log(kinds, times, ELEMENTSOF(kinds));
}
END_TEST

/* Out of range or NaN readings are refused before anything else. */
START_TEST(test_geofence_refuses_invalid_fixes) {
        struct geofence_outcome o[GEOFENCE_MAX_OUTCOMES];
        struct geofence_fix bad[] = {
                { .p = { NAN, 121.45 }, .accuracy_m = 10 },
                { .p = { 31.2, 200 }, .accuracy_m = 10 },
                { .p = { 0, 0 }, .accuracy_m = 10 },
                { .p = { 31.3, 121.45 }, .accuracy_m = 0 },
        };

        start();
        advance_to(AT(0, 23, 0));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_uint_eq(geofence_feed(&fence, &bad[i], mono_at(now), wall_at(now), o, ELEMENTSOF(o)), 0);
        ck_assert_uint_eq(geofence_get_stats(&fence)->invalid, ELEMENTSOF(bad));
        ck_assert(!geofence_last_fix(&fence, mono_at(now), NULL, NULL));
        ck_assert_int_eq(geofence_at_home(&fence), -ENODATA);
        advance_to(AT(1, 3, 0));
        expect_nothing();
}
END_TEST

/* A fix that stops coming before the alarm: the alarm comes anyway, at
 * grace, and says its fix is stale; no separate STALE before it. */
START_TEST(test_geofence_alarm_with_a_stale_fix_says_so) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE };
        const uint64_t times[] = { AT(0, 20, 10) };

        start();
        walk(AT(0, 19, 30), AT(0, 19, 40), 400, 600, 10);       /* then the band is silent */
        advance_to(AT(0, 22, 0));
        expect_log(kinds, times, ELEMENTSOF(kinds));
        ck_assert(seen[0].stale);
        ck_assert_uint_eq(seen[0].fix_age, MINS(30));
        ck_assert_uint_eq(geofence_next_deadline(&fence), GEOFENCE_NEVER);
}
END_TEST

/* hours = always: the grace counts at once, day or night. */
START_TEST(test_geofence_always_counts_at_any_hour) {
        static const enum geofence_outcome_kind kinds[] = { GEOFENCE_OUTSIDE };
        const uint64_t times[] = { AT(0, 14, 10) };

        start();
        params.hours = (struct geo_hours) { .always = true };
        geofence_set_params(&fence, &params);
        walk(AT(0, 14, 0), AT(0, 14, 12), 400, 600, 10);
        expect_log(kinds, times, ELEMENTSOF(kinds));
}
END_TEST

int main(void) {
        Suite *s = suite_create("geo");
        TCase *t;

        /* The fence reads local time of day. */
        setenv("TZ", "Asia/Shanghai", 1);
        tzset();

        t = tcase_create("distance");
        tcase_add_test(t, test_distance_matches_rosetta_codes_bna_to_lax);
        tcase_add_test(t, test_distance_matches_the_aviation_formularys_lax_to_jfk);
        tcase_add_test(t, test_distance_is_exact_at_zone_scale_and_at_the_antipode);
        tcase_add_test(t, test_zone_where_puts_the_border_at_the_radius);
        tcase_add_test(t, test_format_distance_reads_as_people_say_it);
        suite_add_tcase(s, t);

        t = tcase_create("datum");
        tcase_add_test(t, test_gcj02_matches_published_reference_points);
        tcase_add_test(t, test_gcj02_to_wgs84_recovers_the_published_gps_points);
        tcase_add_test(t, test_gcj02_round_trip_is_under_half_a_metre_everywhere);
        tcase_add_test(t, test_gcj02_leaves_points_outside_china_unchanged);
        tcase_add_test(t, test_convert_goes_either_way_and_keeps_a_datum_to_itself);
        tcase_add_test(t, test_datum_and_map_names_round_trip);
        suite_add_tcase(s, t);

        t = tcase_create("settings");
        tcase_add_test(t, test_fix_check_names_each_problem);
        tcase_add_test(t, test_parse_point_reads_lat_lon);
        tcase_add_test(t, test_parse_point_refuses_anything_else_and_says_why);
        tcase_add_test(t, test_parse_hours_reads_spans_and_always);
        tcase_add_test(t, test_hours_spanning_midnight_contain_the_night);
        suite_add_tcase(s, t);

        t = tcase_create("map links");
        tcase_add_test(t, test_amap_link_is_the_documented_marker_uri);
        tcase_add_test(t, test_amap_link_of_a_gps_fix_is_converted_to_gcj02);
        tcase_add_test(t, test_osm_link_marks_the_wgs84_point);
        tcase_add_test(t, test_map_link_refuses_what_it_cannot_write);
        suite_add_tcase(s, t);

        t = tcase_create("geofence");
        tcase_add_test(t, test_geofence_night_walk_raises_at_grace_goes_stale_and_clears_once);
        tcase_add_test(t, test_geofence_back_within_grace_raises_nothing);
        tcase_add_test(t, test_geofence_outside_the_hours_raises_nothing);
        tcase_add_test(t, test_geofence_out_before_the_hours_counts_grace_from_their_start);
        tcase_add_test(t, test_geofence_hours_that_end_stop_the_grace_but_not_an_alarm);
        tcase_add_test(t, test_geofence_ignores_fixes_worse_than_min_accuracy);
        tcase_add_test(t, test_geofence_hovering_at_the_border_does_not_flap);
        tcase_add_test(t, test_geofence_disabled_raises_nothing_but_keeps_the_last_fix);
        tcase_add_test(t, test_geofence_disabled_while_pending_forgets_it);
        tcase_add_test(t, test_geofence_ignores_a_fix_older_than_the_last);
        tcase_add_test(t, test_geofence_grace_counts_from_the_fix_time);
        tcase_add_test(t, test_geofence_fix_stale_on_arrival_moves_nothing);
        tcase_add_test(t, test_geofence_does_not_believe_a_fix_time_in_the_future);
        tcase_add_test(t, test_geofence_refuses_invalid_fixes);
        tcase_add_test(t, test_geofence_alarm_with_a_stale_fix_says_so);
        tcase_add_test(t, test_geofence_always_counts_at_any_hour);
        suite_add_tcase(s, t);

        return run_suite(s);
}
