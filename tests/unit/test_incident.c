/* The incident manager (issue 12): for every path of docs/ESCALATION.md,
 * the exact action list it returns — kinds in order, incident ids,
 * timeline rows (event, actor, channel), calls (update flag, sequence),
 * notices (contact, kind, repeat, state), alerts, prompts and the log
 * lines that matter — on a driven clock. Each action is written as one
 * line (see line_of()) so a list reads like what a caregiver, the center
 * and the record see; a '*' in a wanted line stands for the rule's
 * sentence (words.c's business, tested there). */
#include "unit.h"
#include "incident.h"
#include "util.h"

#include <fnmatch.h>
#include <string.h>

/* Monotonic and wall time of second 0 of every test. */
#define MONO0 (UINT64_C(5000) * USEC_PER_SEC)
#define WALL0 (UINT64_C(1795363200) * USEC_PER_SEC)    /* 2026-11-23 00:00 +08:00 */
#define SEC(x) ((uint64_t) (x) * USEC_PER_SEC)

/* A home with two water sensors, two smoke detectors, the band, a cancel
 * button and a motion sensor; two volunteers (li before wang by `order`,
 * li also on a webhook), a grid worker and a maintenance contact reached
 * by webhook only. */
#define HOME \
        "[sensor leak]\nkind = water\nroom = bathroom\ntopic = z2m/leak\n" \
        "[sensor leak2]\nkind = water\nroom = kitchen\ntopic = z2m/leak2\n" \
        "[sensor smoke]\nkind = smoke\nroom = kitchen\ntopic = z2m/smoke\n" \
        "[sensor smoke2]\nkind = smoke\nroom = bedroom\ntopic = z2m/smoke2\n" \
        "[sensor band]\nkind = wristband\ntopic = z2m/band\n" \
        "[sensor cancel]\nkind = button\nroom = hall\ntopic = z2m/cancel\n" \
        "[sensor pir]\nkind = motion\nroom = living\ntopic = z2m/pir\n" \
        "[contact wang]\nrole = volunteer\nname = Wang\ntopic = phone/wang\norder = 20\n" \
        "[contact li]\nrole = volunteer\nname = Li\ntopic = phone/li\nwebhook = https://hooks.example/li\n" \
        "order = 10\n" \
        "[contact zhao]\nrole = grid\nname = Zhao\ntopic = phone/zhao\n" \
        "[contact sun]\nrole = maintenance\nwebhook = https://hooks.example/sun\n"

static struct config *cfg;
static struct incidents *m;
static struct action_list out;
static unsigned ids;                    /* the id source's counter */
static uint64_t now_s;                  /* the test's clock, seconds after second 0 */
static char lines[1024][700];           /* what was decided, as lines */
static size_t n_lines;

static int make_id(uint64_t wall, char *buf, size_t n, void *userdata) {
        snprintf(buf, n, "T-%u", ++ids);
        return 0;
}

static void setup_home(const char *home, const char *extra) {
        char text[4096];

        snprintf(text, sizeof text, "%s%s", home, extra ? extra : "");
        cfg = load_ok(text);
        ck_assert_int_eq(incidents_new(cfg, &cfg->rules, &m), 0);
        incidents_set_id_source(m, make_id, NULL);
        ids = 0;
        now_s = 0;
        n_lines = 0;
}

static void setup_with(const char *extra) {
        setup_home(HOME, extra);
}

static void setup(void) {
        setup_with(NULL);
}

static void teardown(void) {
        incidents_free(m);
        m = NULL;
        action_list_free(&out);
        memset(&out, 0, sizeof out);
        config_free(cfg);
        cfg = NULL;
}

static uint32_t sensor(const char *id) {
        int i;

        if (!id)
                return SENSOR_NONE;
        i = config_find_sensor(cfg, id);
        ck_assert_msg(i >= 0, "no sensor %s", id);
        return (uint32_t) i;
}

static const char *sensor_name(uint32_t i) {
        return i < cfg->n_sensors ? cfg->sensors[i].id : "-";
}

static uint64_t mono_at(uint64_t s) {
        return MONO0 + SEC(s);
}

static uint64_t wall_at(uint64_t s) {
        return WALL0 + SEC(s);
}

/* One action as a line: "@<s> KIND incident ...". */
static void line_of(const struct action *a, char *buf, size_t n) {
        int l = snprintf(buf, n, "@%llu ", (unsigned long long) now_s);
        char *p = buf + l;
        size_t left = n - (size_t) l;

        switch (a->kind) {
        case ACT_OPEN:
                snprintf(p, left, "OPEN %s %s/%s %s sensor=%s", a->incident, incident_type_to_string(a->type),
                         severity_to_string(a->severity), a->state, sensor_name(a->sensor));
                break;
        case ACT_STATE:
                snprintf(p, left, "STATE %s %s%s", a->incident, a->state, a->close ? " close" : "");
                break;
        case ACT_JOIN:
                snprintf(p, left, "JOIN %s %s", a->incident, sensor_name(a->sensor));
                break;
        case ACT_TIMELINE:
                snprintf(p, left, "TL %s %s %s/%s '%s'", a->incident, a->event, a->actor, a->channel, a->text);
                break;
        case ACT_CALL:
                if (a->target == TARGET_RECEIVER) {
                        snprintf(p, left, "REPORT %s %s%s %s sensor=%s", a->incident, cfg->receivers[a->receiver].id,
                                 a->restore ? " restore" : "", incident_type_to_string(a->type),
                                 sensor_name(a->sensor));
                        break;
                }
                snprintf(p, left, "CALL %s seq=%u%s %s sensor=%s", a->incident, a->sequence,
                         a->update ? " update" : "", incident_type_to_string(a->type), sensor_name(a->sensor));
                break;
        case ACT_NOTIFY:
                snprintf(p, left, "NOTIFY %s %s '%s' r%u %s", a->incident, cfg->contacts[a->contact].id, a->notice,
                         a->repeat, a->state);
                break;
        case ACT_ALERT:
                snprintf(p, left, "ALERT %s %s sensor=%s", a->incident, a->state, sensor_name(a->sensor));
                break;
        case ACT_PROMPT:
                if (a->start)
                        snprintf(p, left, "PROMPT %s start %llus", a->incident,
                                 (unsigned long long) (a->window / USEC_PER_SEC));
                else
                        snprintf(p, left, "PROMPT %s stop", a->incident);
                break;
        case ACT_DROP_NOTICES:
                snprintf(p, left, "DROP %s", a->incident);
                break;
        case ACT_LOG:
                snprintf(p, left, "LOG%s %s", a->warn ? " WARN" : "", a->text);
                break;
        default:
                snprintf(p, left, "?%d", (int) a->kind);
        }
}

/* Moves what the manager returned into lines[] (checking what every
 * action must carry), and empties the list. */
static void collect(void) {
        ck_assert(!out.oom);
        for (size_t i = 0; i < out.n; i++) {
                const struct action *a = &out.v[i];
                ck_assert_msg(n_lines < ELEMENTSOF(lines), "too many actions");
                line_of(a, lines[n_lines++], sizeof lines[0]);
                if (a->kind != ACT_LOG)
                        ck_assert_msg(a->wall != 0, "%s: no time", lines[n_lines - 1]);
                if (a->kind == ACT_NOTIFY)
                        ck_assert_msg(strlen(a->text) > 20, "%s: no text", lines[n_lines - 1]);
        }
        action_list_clear(&out);
}

static const char *dump(size_t from) {
        static char buf[65536];
        size_t l = 0;

        buf[0] = '\0';
        for (size_t i = from; i < n_lines && l < sizeof buf - 800; i++)
                l += (size_t) snprintf(buf + l, sizeof buf - l, "\n    %s", lines[i]);
        return n_lines > from ? buf : " (nothing)";
}

static bool matches(const char *got, const char *want) {
        return fnmatch(want, got, FNM_NOESCAPE) == 0;
}

/* The lines collected so far are exactly want (NULL-terminated); forgets them. */
static void expect_lines(const char *const *want) {
        size_t n = 0;

        collect();
        while (want[n])
                n++;
        for (size_t i = 0; i < n && i < n_lines; i++)
                ck_assert_msg(matches(lines[i], want[i]), "action %zu is\n    %s\nwanted\n    %s\nall:%s", i,
                              lines[i], want[i], dump(0));
        ck_assert_msg(n_lines == n, "%zu actions, wanted %zu:%s", n_lines, n, dump(0));
        n_lines = 0;
}

#define EXPECT(...) expect_lines((const char *const[]) { __VA_ARGS__, NULL })

static void expect_nothing(void) {
        collect();
        ck_assert_msg(n_lines == 0, "wanted nothing, got:%s", dump(0));
}

/* A decision at s seconds. */
static struct decision dec(enum decision_kind k, enum incident_type t, enum severity sev, const char *sid,
                           uint64_t s) {
        return (struct decision) { .kind = k, .type = t, .severity = sev, .sensor = sensor(sid), .mono = mono_at(s),
                                   .wall = wall_at(s), .since_wall = wall_at(s) };
}

static void apply_at(uint64_t s, struct decision d) {
        now_s = s;
        ck_assert_int_eq(incidents_apply(m, &d, NULL, NULL, &out), 0);
        collect();
}

static void raise_at(uint64_t s, enum incident_type t, enum severity sev, const char *sid) {
        apply_at(s, dec(DECISION_RAISE, t, sev, sid, s));
}

static enum ack_result ack_at(uint64_t s, const char *id, const char *action, const char *actor,
                              const char *channel, const char *note) {
        enum ack_result r;

        now_s = s;
        r = incidents_ack(m, id, action, actor, channel, note, mono_at(s), wall_at(s), &out);
        collect();
        return r;
}

static void answered_at(uint64_t s, const char *id, const char *case_id) {
        now_s = s;
        incidents_center_answered(m, id, case_id, NULL, mono_at(s), wall_at(s), &out);
        collect();
}

static void relay_at(uint64_t s, bool cut) {
        now_s = s;
        incidents_relay_switched(m, cut, wall_at(s), &out);
        collect();
}

static void resume_at(uint64_t s) {
        now_s = s;
        incidents_resume(m, mono_at(s), wall_at(s), &out);
        collect();
}

/* Forgets what was collected (a step the test is not about). */
static void forget(void) {
        collect();
        n_lines = 0;
}

/* The daemon's loop: wakes at incidents_next_deadline() (at once if it
 * has passed), ticks, until s. */
static void drive_to(uint64_t s) {
        unsigned wakes = 0;

        for (;;) {
                uint64_t next = incidents_next_deadline(m);
                if (next == UINT64_MAX || next > mono_at(s))
                        break;
                ck_assert_uint_ge(next, MONO0);
                ck_assert_msg(++wakes < 10000, "the deadline does not move");
                if (next < mono_at(now_s))
                        next = mono_at(now_s);
                now_s = (next - MONO0) / USEC_PER_SEC;
                ck_assert_uint_eq(next, mono_at(now_s));        /* every step is on a whole second here */
                incidents_tick(m, next, WALL0 + (next - MONO0), &out);
                ck_assert_msg(incidents_next_deadline(m) > next, "the deadline did not move past a tick");
                collect();
        }
        now_s = s;
}

static void outputs_are(enum siren_pattern siren, bool cut) {
        enum siren_pattern s;
        bool c;

        incidents_outputs(m, &s, &c);
        ck_assert_str_eq(siren_pattern_to_string(s), siren_pattern_to_string(siren));
        ck_assert_int_eq(c, cut);
}

/* --- urgent (docs/DESIGN.md §6's "1-3-10" default ladder) ------------------------------- */

START_TEST(test_urgent_nobody_answers_climbs_volunteers_grid_center_with_repeats) {
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        drive_to(250);
        EXPECT("@0 LOG incident T-1 opened: water_leak (urgent) — *",
               "@0 OPEN T-1 water_leak/urgent open sensor=leak",
               "@0 JOIN T-1 leak",
               "@0 TL T-1 opened leak/rule '*",
               "@0 ALERT T-1 open sensor=leak",
               /* volunteers in `order`: li (10) before wang (20); li has two channels */
               "@0 NOTIFY T-1 li 'alert' r0 open",
               "@0 TL T-1 notified li/mqtt 'alert'",
               "@0 TL T-1 notified li/webhook 'alert'",
               "@0 NOTIFY T-1 wang 'alert' r0 open",
               "@0 TL T-1 notified wang/mqtt 'alert'",
               "@0 LOG incident T-1: volunteer notified (2 contacts)",
               /* 60 s: the grid, and the volunteers again */
               "@60 NOTIFY T-1 zhao 'alert' r0 open",
               "@60 TL T-1 notified zhao/mqtt 'alert'",
               "@60 LOG incident T-1: grid notified (1 contact)",
               "@60 NOTIFY T-1 li 'repeat' r1 open",
               "@60 TL T-1 notified li/mqtt 'repeat 1'",
               "@60 TL T-1 notified li/webhook 'repeat 1'",
               "@60 NOTIFY T-1 wang 'repeat' r1 open",
               "@60 TL T-1 notified wang/mqtt 'repeat 1'",
               "@120 NOTIFY T-1 li 'repeat' r2 open",
               "@120 TL T-1 notified li/mqtt 'repeat 2'",
               "@120 TL T-1 notified li/webhook 'repeat 2'",
               "@120 NOTIFY T-1 wang 'repeat' r2 open",
               "@120 TL T-1 notified wang/mqtt 'repeat 2'",
               "@120 NOTIFY T-1 zhao 'repeat' r1 open",
               "@120 TL T-1 notified zhao/mqtt 'repeat 1'",
               /* 180 s: the center, and both tiers again */
               "@180 LOG incident T-1: nobody has taken charge — calling the dispatch center",
               "@180 TL T-1 called ladder/ladder '*",
               "@180 CALL T-1 seq=1 water_leak sensor=leak",
               "@180 NOTIFY T-1 li 'repeat' r3 open",
               "@180 TL T-1 notified li/mqtt 'repeat 3'",
               "@180 TL T-1 notified li/webhook 'repeat 3'",
               "@180 NOTIFY T-1 wang 'repeat' r3 open",
               "@180 TL T-1 notified wang/mqtt 'repeat 3'",
               "@180 NOTIFY T-1 zhao 'repeat' r2 open",
               "@180 TL T-1 notified zhao/mqtt 'repeat 2'",
               "@240 NOTIFY T-1 li 'repeat' r4 open",
               "@240 TL T-1 notified li/mqtt 'repeat 4'",
               "@240 TL T-1 notified li/webhook 'repeat 4'",
               "@240 NOTIFY T-1 wang 'repeat' r4 open",
               "@240 TL T-1 notified wang/mqtt 'repeat 4'",
               "@240 NOTIFY T-1 zhao 'repeat' r3 open",
               "@240 TL T-1 notified zhao/mqtt 'repeat 3'");

        /* The center's case id is an ack by "dispatch": the tiers reached
         * hear it, and the repeats stop. */
        answered_at(250, "T-1", "QZ-2026-118734");
        EXPECT("@250 STATE T-1 acked",
               "@250 TL T-1 ack dispatch/https 'case QZ-2026-118734'",
               "@250 LOG incident T-1: ack by dispatch via https — now acked",
               "@250 ALERT T-1 acked sensor=leak",
               "@250 NOTIFY T-1 li 'update' r0 acked",
               "@250 TL T-1 notified li/mqtt 'update'",
               "@250 TL T-1 notified li/webhook 'update'",
               "@250 NOTIFY T-1 wang 'update' r0 acked",
               "@250 TL T-1 notified wang/mqtt 'update'",
               "@250 NOTIFY T-1 zhao 'update' r0 acked",
               "@250 TL T-1 notified zhao/mqtt 'update'");
        /* Every step was reached: nothing left to climb, no onsite clock. */
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        drive_to(3600);
        expect_nothing();
        ck_assert_uint_eq(incidents_get_stats(m)->opened, 1);
}
END_TEST

/* What the center's answer tells the volunteers, in the hub's language. */
START_TEST(test_notices_read_as_documented) {
        struct decision d = dec(DECISION_RAISE, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak", 0);
        size_t notices = 0;

        /* docs/ESCALATION.md §3, with language = en: the resident, the
         * address, the rule's sentence and how to answer. */
        ck_assert_int_eq(incidents_apply(m, &d, NULL, NULL, &out), 0);
        for (size_t i = 0; i < out.n; i++)
                if (out.v[i].kind == ACT_NOTIFY) {
                        ck_assert_str_eq(out.v[i].text, "[anju] Ye, Doutan 3-2-301: Water leak detected by leak in "
                                         "the bathroom. Answer ack (on my way), arrived or resolved, incident T-1.");
                        notices++;
                }
        ck_assert_uint_eq(notices, 2);
        action_list_clear(&out);
        /* The center's answer, without the answer instructions. */
        incidents_center_answered(m, "T-1", "QZ-2026-118734", NULL, mono_at(181), wall_at(181), &out);
        notices = 0;
        for (size_t i = 0; i < out.n; i++)
                if (out.v[i].kind == ACT_NOTIFY) {
                        ck_assert_str_eq(out.v[i].text, "[anju] Ye, Doutan 3-2-301: the dispatch center has taken "
                                         "the call (case QZ-2026-118734).");
                        notices++;
                }
        ck_assert_uint_eq(notices, 2);
        action_list_clear(&out);
        /* A second answer (the update call's) changes nothing. */
        answered_at(190, "T-1", "QZ-2026-118735");
        expect_nothing();
        /* A person's words name them by `name`. */
        ck_assert_int_eq(incidents_ack(m, "T-1", "arrived", "wang", "mqtt", NULL, mono_at(200), wall_at(200), &out),
                         ACK_APPLIED);
        for (size_t i = 0; i < out.n; i++)
                if (out.v[i].kind == ACT_NOTIFY)
                        ck_assert_str_eq(out.v[i].text, "[anju] Ye, Doutan 3-2-301: Wang has arrived.");
}
END_TEST

START_TEST(test_urgent_acked_at_30s_stops_repeats_and_reaches_no_grid_and_no_center) {
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        forget();
        ck_assert_int_eq(ack_at(30, "T-1", "ack", "wang", "mqtt", NULL), ACK_APPLIED);
        EXPECT("@30 STATE T-1 acked",
               "@30 TL T-1 ack wang/mqtt ''",
               "@30 LOG incident T-1: ack by wang via mqtt — now acked",
               "@30 ALERT T-1 acked sensor=leak",
               /* only the tier reached so far hears it */
               "@30 NOTIFY T-1 li 'update' r0 acked",
               "@30 TL T-1 notified li/mqtt 'update'",
               "@30 TL T-1 notified li/webhook 'update'",
               "@30 NOTIFY T-1 wang 'update' r0 acked",
               "@30 TL T-1 notified wang/mqtt 'update'");
        /* The next thing due is the onsite clock: 10 min after the ack. */
        ck_assert_uint_eq(incidents_next_deadline(m), mono_at(630));
        drive_to(629);
        expect_nothing();
        /* A second volunteer going is on the record, nothing changes. */
        ck_assert_int_eq(ack_at(100, "T-1", "ack", "li", "mqtt", "on my way too"), ACK_RECORDED);
        EXPECT("@100 TL T-1 ack li/mqtt 'on my way too'",
               "@100 LOG incident T-1: ack by li (mqtt) recorded");
        ck_assert_uint_eq(incidents_next_deadline(m), mono_at(630));
}
END_TEST

START_TEST(test_urgent_acked_but_nobody_on_site_reaches_the_next_steps_anyway) {
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        ck_assert_int_eq(ack_at(30, "T-1", "ack", "wang", "mqtt", NULL), ACK_APPLIED);
        forget();
        drive_to(1300);
        EXPECT("@630 NOTIFY T-1 zhao 'nobody on site yet' r0 acked",
               "@630 TL T-1 notified zhao/mqtt 'nobody on site yet'",
               "@630 LOG incident T-1: grid notified (1 contact)",
               "@1230 LOG incident T-1: nobody on site in time — calling the dispatch center",
               "@1230 TL T-1 called ladder/ladder '*",
               "@1230 CALL T-1 seq=1 water_leak sensor=leak");
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        /* Someone arrives: every tier reached hears it, the grid too now. */
        ck_assert_int_eq(ack_at(1300, "T-1", "arrived", "wang", "mqtt", NULL), ACK_APPLIED);
        EXPECT("@1300 STATE T-1 onsite",
               "@1300 TL T-1 arrived wang/mqtt ''",
               "@1300 LOG incident T-1: arrived by wang via mqtt — now onsite",
               "@1300 ALERT T-1 onsite sensor=leak",
               "@1300 NOTIFY T-1 li 'update' r0 onsite",
               "@1300 TL T-1 notified li/mqtt 'update'",
               "@1300 TL T-1 notified li/webhook 'update'",
               "@1300 NOTIFY T-1 wang 'update' r0 onsite",
               "@1300 TL T-1 notified wang/mqtt 'update'",
               "@1300 NOTIFY T-1 zhao 'update' r0 onsite",
               "@1300 TL T-1 notified zhao/mqtt 'update'");
        ck_assert_int_eq(ack_at(1310, "T-1", "arrived", "wang", "mqtt", NULL), ACK_RECORDED);
        ck_assert_int_eq(ack_at(1320, "T-1", "ack", "li", "mqtt", NULL), ACK_RECORDED);
        EXPECT("@1310 TL T-1 arrived wang/mqtt ''",
               "@1310 LOG incident T-1: arrived by wang (mqtt) recorded",
               "@1320 TL T-1 ack li/mqtt ''",
               "@1320 LOG incident T-1: ack by li (mqtt) recorded");
}
END_TEST

START_TEST(test_arrived_without_an_ack_stops_the_ladder) {
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        ck_assert_int_eq(ack_at(20, "T-1", "arrived", "li", "mqtt", NULL), ACK_APPLIED);
        forget();
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        drive_to(7200);
        expect_nothing();
}
END_TEST

START_TEST(test_a_step_without_contacts_is_skipped_and_the_next_keeps_its_time) {
        teardown();
        setup_home("[sensor leak]\nkind = water\nroom = bathroom\ntopic = z2m/leak\n"
                   "[contact wang]\nrole = volunteer\ntopic = phone/wang\n", NULL);
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        forget();
        drive_to(180);
        EXPECT("@60 LOG WARN incident T-1: no grid contact is configured; ladder step skipped",
               "@60 TL T-1 step_skipped grid/ladder 'no contact with this role'",
               "@60 NOTIFY T-1 wang 'repeat' r1 open",
               "@60 TL T-1 notified wang/mqtt 'repeat 1'",
               "@120 NOTIFY T-1 wang 'repeat' r2 open",
               "@120 TL T-1 notified wang/mqtt 'repeat 2'",
               "@180 LOG incident T-1: nobody has taken charge — calling the dispatch center",
               "@180 TL T-1 called ladder/ladder '*",
               "@180 CALL T-1 seq=1 water_leak sensor=leak",
               "@180 NOTIFY T-1 wang 'repeat' r3 open",
               "@180 TL T-1 notified wang/mqtt 'repeat 3'");
        /* The empty tier is never "repeated" either. */
        drive_to(240);
        EXPECT("@240 NOTIFY T-1 wang 'repeat' r4 open",
               "@240 TL T-1 notified wang/mqtt 'repeat 4'");
}
END_TEST

/* --- critical ------------------------------------------------------------------ */

START_TEST(test_critical_calls_the_center_and_notifies_everyone_at_once) {
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        EXPECT("@0 LOG incident T-1 opened: fire (critical) — *",
               "@0 OPEN T-1 fire/critical open sensor=smoke",
               "@0 JOIN T-1 smoke",
               "@0 TL T-1 opened smoke/rule '*",
               "@0 ALERT T-1 open sensor=smoke",
               /* the call first, in the same list as the incident (its
                * "opened" row says it: no "called" row) */
               "@0 CALL T-1 seq=1 fire sensor=smoke",
               "@0 NOTIFY T-1 li 'alert' r0 open",
               "@0 TL T-1 notified li/mqtt 'alert'",
               "@0 TL T-1 notified li/webhook 'alert'",
               "@0 NOTIFY T-1 wang 'alert' r0 open",
               "@0 TL T-1 notified wang/mqtt 'alert'",
               "@0 LOG incident T-1: volunteer notified (2 contacts)",
               "@0 NOTIFY T-1 zhao 'alert' r0 open",
               "@0 TL T-1 notified zhao/mqtt 'alert'",
               "@0 LOG incident T-1: grid notified (1 contact)");
        outputs_are(SIREN_CONTINUOUS, true);
        /* Nobody answers: both tiers again every 60 s, never a second call. */
        drive_to(60);
        EXPECT("@60 NOTIFY T-1 li 'repeat' r1 open",
               "@60 TL T-1 notified li/mqtt 'repeat 1'",
               "@60 TL T-1 notified li/webhook 'repeat 1'",
               "@60 NOTIFY T-1 wang 'repeat' r1 open",
               "@60 TL T-1 notified wang/mqtt 'repeat 1'",
               "@60 NOTIFY T-1 zhao 'repeat' r1 open",
               "@60 TL T-1 notified zhao/mqtt 'repeat 1'");

        /* The center's answer is an ack by "dispatch": repeats stop, the
         * siren does not (nobody is at the door). */
        answered_at(65, "T-1", "C-7");
        EXPECT("@65 STATE T-1 acked",
               "@65 TL T-1 ack dispatch/https 'case C-7'",
               "@65 LOG incident T-1: ack by dispatch via https — now acked",
               "@65 ALERT T-1 acked sensor=smoke",
               "@65 NOTIFY T-1 li 'update' r0 acked",
               "@65 TL T-1 notified li/mqtt 'update'",
               "@65 TL T-1 notified li/webhook 'update'",
               "@65 NOTIFY T-1 wang 'update' r0 acked",
               "@65 TL T-1 notified wang/mqtt 'update'",
               "@65 NOTIFY T-1 zhao 'update' r0 acked",
               "@65 TL T-1 notified zhao/mqtt 'update'");
        outputs_are(SIREN_CONTINUOUS, true);
        /* With every step reached there is no onsite clock. */
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        drive_to(3600);
        expect_nothing();

        /* A person's ack is only recorded (already acked), but it silences
         * the siren; the relay stays cut until the incident closes. */
        ck_assert_int_eq(ack_at(3600, "T-1", "ack", "wang", "mqtt", NULL), ACK_RECORDED);
        EXPECT("@3600 TL T-1 ack wang/mqtt ''",
               "@3600 LOG incident T-1: ack by wang (mqtt) recorded");
        outputs_are(SIREN_OFF, true);
        ck_assert_int_eq(ack_at(3700, "T-1", "resolved", "wang", "mqtt", NULL), ACK_APPLIED);
        forget();
        outputs_are(SIREN_OFF, false);
}
END_TEST

START_TEST(test_critical_acked_by_a_person_silences_the_siren_at_once) {
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        forget();
        ck_assert_int_eq(ack_at(10, "T-1", "ack", "zhao", "mqtt", NULL), ACK_APPLIED);
        outputs_are(SIREN_OFF, true);
        /* The center's answer after a person took charge: only in the
         * outbox's dispatch_delivered row, nothing from the manager. */
        forget();
        answered_at(12, "T-1", "C-1");
        expect_nothing();
        outputs_are(SIREN_OFF, true);
}
END_TEST

/* Issue 15: a DC-09 receiver's ACK takes charge like the dispatch center's
 * case id, on the record as the receiver's, and a fire's siren keeps
 * sounding (a centre is not someone at the door). */
START_TEST(test_critical_acked_by_a_dc09_receiver_is_the_receivers_and_keeps_the_siren) {
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        forget();
        now_s = 5;
        incidents_center_answered(m, "T-1", "ACK 0001 from arc", "arc", mono_at(5), wall_at(5), &out);
        collect();
        ck_assert_msg(n_lines >= 4, "%s", dump(0));
        ck_assert_msg(matches(lines[0], "@5 STATE T-1 acked"), "%s", dump(0));
        ck_assert_msg(matches(lines[1], "@5 TL T-1 ack receiver:arc/dc09 'ACK 0001 from arc'"), "%s", dump(0));
        ck_assert_msg(matches(lines[2], "@5 LOG incident T-1: ack by receiver:arc via dc09 — now acked"), "%s", dump(0));
        for (size_t i = 0; i < n_lines; i++)
                if (matches(lines[i], "*NOTIFY*"))
                        ck_assert_msg(matches(lines[i], "*'update'*"), "%s", dump(0));
        forget();
        outputs_are(SIREN_CONTINUOUS, true);
}
END_TEST

START_TEST(test_sos_is_critical_too) {
        raise_at(0, INCIDENT_SOS, SEVERITY_CRITICAL, NULL);
        EXPECT("@0 LOG incident T-1 opened: sos (critical) — *",
               "@0 OPEN T-1 sos/critical open sensor=-",
               "@0 TL T-1 opened /rule '*",
               "@0 ALERT T-1 open sensor=-",
               "@0 CALL T-1 seq=1 sos sensor=-",
               "@0 NOTIFY T-1 li 'alert' r0 open",
               "@0 TL T-1 notified li/mqtt 'alert'",
               "@0 TL T-1 notified li/webhook 'alert'",
               "@0 NOTIFY T-1 wang 'alert' r0 open",
               "@0 TL T-1 notified wang/mqtt 'alert'",
               "@0 LOG incident T-1: volunteer notified (2 contacts)",
               "@0 NOTIFY T-1 zhao 'alert' r0 open",
               "@0 TL T-1 notified zhao/mqtt 'alert'",
               "@0 LOG incident T-1: grid notified (1 contact)");
        /* Not a fire: no siren, no relay. */
        outputs_are(SIREN_OFF, false);
}
END_TEST

/* --- a further sensor ----------------------------------------------------------- */

START_TEST(test_second_sensor_joining_a_called_fire_sends_an_update_call) {
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        forget();
        raise_at(20, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke2");
        EXPECT("@20 LOG incident T-1 (fire): smoke2 joins — *",
               "@20 ALERT T-1 open sensor=smoke2",
               "@20 JOIN T-1 smoke2",
               "@20 TL T-1 triggered smoke2/rule '*",
               "@20 CALL T-1 seq=2 update fire sensor=smoke2");
        /* The same sensors again: only on the record. */
        raise_at(40, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke2");
        raise_at(45, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        EXPECT("@40 JOIN T-1 smoke2",
               "@40 TL T-1 triggered smoke2/rule '*",
               "@40 LOG incident T-1: *",
               "@40 ALERT T-1 open sensor=smoke2",
               "@45 JOIN T-1 smoke",
               "@45 TL T-1 triggered smoke/rule '*",
               "@45 LOG incident T-1: *",
               "@45 ALERT T-1 open sensor=smoke");
        ck_assert_uint_eq(incidents_open_count(m), 1);
}
END_TEST

START_TEST(test_second_sensor_before_the_call_is_recorded_and_one_after_it_is_an_update) {
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        forget();
        /* Before the center was called: on the record, no call. */
        raise_at(30, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak2");
        EXPECT("@30 JOIN T-1 leak2",
               "@30 TL T-1 triggered leak2/rule '*",
               "@30 LOG incident T-1: *",
               "@30 ALERT T-1 open sensor=leak2");
        drive_to(180);
        forget();
        /* It had joined: after the call it is still no update. */
        raise_at(200, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak2");
        collect();
        for (size_t i = 0; i < n_lines; i++)
                ck_assert_msg(!strstr(lines[i], "CALL"), "%s", dump(0));
        n_lines = 0;
}
END_TEST

START_TEST(test_clear_is_recorded_and_the_incident_stays_open) {
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        forget();
        apply_at(90, dec(DECISION_CLEAR, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke", 90));
        EXPECT("@90 LOG incident T-1: *; it stays open until a responder closes it",
               "@90 TL T-1 cleared smoke/rule '*");
        ck_assert_uint_eq(incidents_open_count(m), 1);
        ck_assert_str_eq(incidents_open_id(m, INCIDENT_FIRE), "T-1");
        outputs_are(SIREN_CONTINUOUS, true);
        /* A clear of nothing open is nothing. */
        apply_at(95, dec(DECISION_CLEAR, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak", 95));
        expect_nothing();
}
END_TEST

/* --- closing ----------------------------------------------------------------------- */

START_TEST(test_resolved_closes_informs_the_reached_tiers_and_drops_notices) {
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        drive_to(70);           /* volunteers and grid reached */
        forget();
        ck_assert_int_eq(ack_at(100, "T-1", "resolved", "li", "mqtt", "mopped up"), ACK_APPLIED);
        EXPECT("@100 STATE T-1 resolved close",
               "@100 TL T-1 resolved li/mqtt 'mopped up'",
               "@100 LOG incident T-1: resolved by li via mqtt — now resolved",
               "@100 ALERT T-1 resolved sensor=leak",
               "@100 NOTIFY T-1 li 'update' r0 resolved",
               "@100 TL T-1 notified li/mqtt 'update'",
               "@100 TL T-1 notified li/webhook 'update'",
               "@100 NOTIFY T-1 wang 'update' r0 resolved",
               "@100 TL T-1 notified wang/mqtt 'update'",
               "@100 NOTIFY T-1 zhao 'update' r0 resolved",
               "@100 TL T-1 notified zhao/mqtt 'update'",
               "@100 DROP T-1");
        ck_assert_uint_eq(incidents_open_count(m), 0);
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        ck_assert_uint_eq(incidents_get_stats(m)->closed, 1);
        /* Closed: the manager has forgotten it (the hub tells "closed" from
         * "unknown" by the store). */
        ck_assert_int_eq(ack_at(110, "T-1", "ack", "wang", "mqtt", NULL), ACK_UNKNOWN_INCIDENT);
        expect_nothing();
        /* A new leak is a new incident. */
        raise_at(200, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        ck_assert_str_eq(incidents_open_id(m, INCIDENT_WATER_LEAK), "T-2");
}
END_TEST

START_TEST(test_false_alarm_on_an_urgent_incident_may_come_from_any_volunteer) {
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        forget();
        ck_assert_int_eq(ack_at(40, "T-1", "false_alarm", "wang", "mqtt", NULL), ACK_APPLIED);
        EXPECT("@40 STATE T-1 cancelled close",
               "@40 TL T-1 false_alarm wang/mqtt ''",
               "@40 LOG incident T-1: false_alarm by wang via mqtt — now cancelled",
               "@40 ALERT T-1 cancelled sensor=leak",
               "@40 NOTIFY T-1 li 'update' r0 cancelled",
               "@40 TL T-1 notified li/mqtt 'update'",
               "@40 TL T-1 notified li/webhook 'update'",
               "@40 NOTIFY T-1 wang 'update' r0 cancelled",
               "@40 TL T-1 notified wang/mqtt 'update'",
               "@40 DROP T-1");
        ck_assert_uint_eq(incidents_open_count(m), 0);
}
END_TEST

START_TEST(test_false_alarm_on_a_critical_incident_is_refused_to_a_volunteer_not_on_site) {
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        forget();
        ck_assert_int_eq(ack_at(30, "T-1", "false_alarm", "li", "mqtt", "just toast"), ACK_NOT_ALLOWED);
        EXPECT("@30 TL T-1 false_alarm_refused li/mqtt 'not allowed to close this incident as a false alarm'");
        ck_assert_uint_eq(incidents_get_stats(m)->refused_closes, 1);
        ck_assert_uint_eq(incidents_open_count(m), 1);
        /* Refused: it did not silence anything either. */
        outputs_are(SIREN_CONTINUOUS, true);
        /* Nor may the center, nor a stranger. */
        ck_assert_int_eq(ack_at(31, "T-1", "false_alarm", "dispatch", "https", NULL), ACK_NOT_ALLOWED);
        ck_assert_int_eq(ack_at(32, "T-1", "false_alarm", "nobody", "mqtt", NULL), ACK_NOT_ALLOWED);
        forget();
        /* Once li has arrived she may. */
        ck_assert_int_eq(ack_at(120, "T-1", "arrived", "li", "mqtt", NULL), ACK_APPLIED);
        forget();
        ck_assert_int_eq(ack_at(130, "T-1", "false_alarm", "li", "mqtt", "just toast"), ACK_APPLIED);
        EXPECT("@130 STATE T-1 cancelled close",
               "@130 TL T-1 false_alarm li/mqtt 'just toast'",
               "@130 LOG incident T-1: false_alarm by li via mqtt — now cancelled",
               "@130 ALERT T-1 cancelled sensor=smoke",
               "@130 NOTIFY T-1 li 'update' r0 cancelled",
               "@130 TL T-1 notified li/mqtt 'update'",
               "@130 TL T-1 notified li/webhook 'update'",
               "@130 NOTIFY T-1 wang 'update' r0 cancelled",
               "@130 TL T-1 notified wang/mqtt 'update'",
               "@130 NOTIFY T-1 zhao 'update' r0 cancelled",
               "@130 TL T-1 notified zhao/mqtt 'update'",
               "@130 DROP T-1");
        outputs_are(SIREN_OFF, false);
}
END_TEST

START_TEST(test_false_alarm_on_a_critical_incident_by_the_grid_worker_or_an_operator) {
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        forget();
        ck_assert_int_eq(ack_at(30, "T-1", "false_alarm", "zhao", "mqtt", NULL), ACK_APPLIED);
        collect();
        ck_assert_str_eq(lines[0], "@30 STATE T-1 cancelled close");
        ck_assert_str_eq(lines[n_lines - 1], "@30 DROP T-1");
        n_lines = 0;

        raise_at(100, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        forget();
        ck_assert_int_eq(ack_at(130, "T-2", "false_alarm", "ctl:admin", "ctl", NULL), ACK_APPLIED);
        collect();
        ck_assert_str_eq(lines[0], "@130 STATE T-2 cancelled close");
        ck_assert_str_eq(lines[1], "@130 TL T-2 false_alarm ctl:admin/ctl ''");
        n_lines = 0;
        ck_assert_uint_eq(incidents_get_stats(m)->refused_closes, 0);
}
END_TEST

START_TEST(test_false_alarm_by_is_configurable) {
        teardown();
        setup_with("[escalation critical]\nfalse_alarm_by = volunteer\n");
        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        ck_assert_int_eq(ack_at(30, "T-1", "false_alarm", "zhao", "mqtt", NULL), ACK_NOT_ALLOWED);
        ck_assert_int_eq(ack_at(31, "T-1", "false_alarm", "ctl:admin", "ctl", NULL), ACK_NOT_ALLOWED);
        ck_assert_int_eq(ack_at(32, "T-1", "false_alarm", "wang", "mqtt", NULL), ACK_APPLIED);
        forget();
}
END_TEST

/* --- answers that change nothing ------------------------------------------------ */

START_TEST(test_unknown_incidents_and_bad_actions_change_nothing) {
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        forget();
        ck_assert_int_eq(ack_at(10, "T-99", "ack", "wang", "mqtt", NULL), ACK_UNKNOWN_INCIDENT);
        ck_assert_int_eq(ack_at(10, "", "ack", "wang", "mqtt", NULL), ACK_UNKNOWN_INCIDENT);
        ck_assert_int_eq(ack_at(10, "T-1", "cancel", "wang", "mqtt", NULL), ACK_BAD_ACTION);
        ck_assert_int_eq(ack_at(10, "T-1", "ACK", "wang", "mqtt", NULL), ACK_BAD_ACTION);
        ck_assert_int_eq(ack_at(10, "T-1", "", "wang", "mqtt", NULL), ACK_BAD_ACTION);
        expect_nothing();
        ck_assert_str_eq(ack_result_to_string(ACK_BAD_ACTION), "not an action for this incident's state");
        /* Still open, still climbing. */
        ck_assert_uint_eq(incidents_next_deadline(m), mono_at(60));

        /* Decisions that name nothing known. */
        struct decision d = dec(DECISION_RAISE, INCIDENT_FIRE, SEVERITY_CRITICAL, NULL, 20);
        d.sensor = (uint32_t) cfg->n_sensors;
        ck_assert_int_eq(incidents_apply(m, &d, NULL, NULL, &out), -EINVAL);
        d = dec(DECISION_RAISE, _INCIDENT_TYPE_MAX, SEVERITY_CRITICAL, NULL, 20);
        ck_assert_int_eq(incidents_apply(m, &d, NULL, NULL, &out), -EINVAL);
        d = dec(DECISION_RAISE, INCIDENT_FIRE, _SEVERITY_MAX, NULL, 20);
        ck_assert_int_eq(incidents_apply(m, &d, NULL, NULL, &out), -EINVAL);
        d = dec(_DECISION_KIND_MAX, INCIDENT_FIRE, SEVERITY_CRITICAL, NULL, 20);
        ck_assert_int_eq(incidents_apply(m, &d, NULL, NULL, &out), -EINVAL);
        expect_nothing();
        ck_assert_uint_eq(incidents_open_count(m), 1);
}
END_TEST

/* --- warnings ------------------------------------------------------------------------ */

static struct decision health(enum health_problem p, const char *sid, uint64_t s) {
        struct decision d = dec(DECISION_RAISE, INCIDENT_DEVICE_HEALTH, SEVERITY_WARNING, sid, s);

        d.problem = p;
        d.value = p == HEALTH_BATTERY ? 9 : 0;
        return d;
}

START_TEST(test_warning_goes_to_maintenance_only_and_never_calls) {
        apply_at(0, health(HEALTH_BATTERY, "smoke", 0));
        EXPECT("@0 LOG incident T-1 opened: device_health (warning) — *",
               "@0 OPEN T-1 device_health/warning open sensor=smoke",
               "@0 JOIN T-1 smoke",
               "@0 TL T-1 opened smoke/rule '*",
               "@0 ALERT T-1 open sensor=smoke",
               "@0 NOTIFY T-1 sun 'alert' r0 open",
               "@0 TL T-1 notified sun/webhook 'alert'",
               "@0 LOG incident T-1: maintenance notified (1 contact)");
        /* Never repeated, never climbing (no repeat, no onsite clock). */
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        ck_assert_int_eq(ack_at(60, "T-1", "ack", "sun", "mqtt", NULL), ACK_APPLIED);
        forget();
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        drive_to(2 * 86400);
        expect_nothing();
}
END_TEST

START_TEST(test_warnings_are_per_device_two_devices_two_incidents) {
        apply_at(0, health(HEALTH_BATTERY, "smoke", 0));
        apply_at(5, health(HEALTH_OFFLINE, "pir", 5));
        collect();
        ck_assert_uint_eq(incidents_open_count(m), 2);
        n_lines = 0;
        /* The same device again (another problem of it): attached, only
         * recorded, maintenance not told again. */
        apply_at(10, health(HEALTH_TAMPER, "smoke", 10));
        EXPECT("@10 JOIN T-1 smoke",
               "@10 TL T-1 triggered smoke/rule '*",
               "@10 LOG incident T-1: *",
               "@10 ALERT T-1 open sensor=smoke");
        ck_assert_uint_eq(incidents_open_count(m), 2);
        /* Problems of the hub itself are keyed by the problem. */
        apply_at(20, health(HEALTH_LINK, NULL, 20));
        apply_at(21, health(HEALTH_CENTER, NULL, 21));
        apply_at(22, health(HEALTH_LINK, NULL, 22));
        collect();
        ck_assert_uint_eq(incidents_open_count(m), 4);
        n_lines = 0;
}
END_TEST

START_TEST(test_warning_of_a_device_is_told_once_per_per_device) {
        apply_at(0, health(HEALTH_BATTERY, "smoke", 0));
        ck_assert_int_eq(ack_at(60, "T-1", "resolved", "sun", "mqtt", NULL), ACK_APPLIED);
        forget();
        /* An hour later the same device: a new incident, the notice skipped. */
        apply_at(3600, health(HEALTH_BATTERY, "smoke", 3600));
        EXPECT("@3600 LOG incident T-2 opened: device_health (warning) — *",
               "@3600 OPEN T-2 device_health/warning open sensor=smoke",
               "@3600 JOIN T-2 smoke",
               "@3600 TL T-2 opened smoke/rule '*",
               "@3600 ALERT T-2 open sensor=smoke",
               "@3600 TL T-2 notice_suppressed ladder/ladder 'this device was reported within per_device'");
        /* Another device meanwhile is told at once. */
        apply_at(3700, health(HEALTH_BATTERY, "pir", 3700));
        collect();
        ck_assert_str_eq(lines[5], "@3700 NOTIFY T-3 sun 'alert' r0 open");
        n_lines = 0;
        ck_assert_int_eq(ack_at(3800, "T-2", "resolved", "sun", "mqtt", NULL), ACK_APPLIED);
        forget();
        /* A day after the first notice: told again. */
        apply_at(86400, health(HEALTH_BATTERY, "smoke", 86400));
        collect();
        ck_assert_str_eq(lines[5], "@86400 NOTIFY T-4 sun 'alert' r0 open");
        n_lines = 0;
}
END_TEST

/* --- the fall pre-alarm --------------------------------------------------------------- */

START_TEST(test_fall_prealarm_prompts_and_a_cancel_closes_it) {
        apply_at(0, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "band", 0));
        EXPECT("@0 LOG incident T-1 PRE-ALARM: *",
               "@0 OPEN T-1 fall/critical prealarm sensor=band",
               "@0 JOIN T-1 band",
               "@0 TL T-1 prealarm band/rule '*",
               "@0 PROMPT T-1 start 30s",
               "@0 ALERT T-1 prealarm sensor=band");
        /* No ladder, no call while it waits. */
        ck_assert(incidents_in_prealarm(m, "T-1"));
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        outputs_are(SIREN_PULSED, false);
        drive_to(29);
        expect_nothing();
        /* Nobody may ack a pre-alarm: only the resident cancels it. */
        ck_assert_int_eq(ack_at(5, "T-1", "ack", "wang", "mqtt", NULL), ACK_BAD_ACTION);
        ck_assert_int_eq(ack_at(5, "T-1", "false_alarm", "zhao", "mqtt", NULL), ACK_BAD_ACTION);
        expect_nothing();

        apply_at(12, dec(DECISION_CANCEL, INCIDENT_FALL, SEVERITY_CRITICAL, "cancel", 12));
        EXPECT("@12 PROMPT T-1 stop",
               "@12 LOG incident T-1 cancelled by the resident (cancel via sensor): *",
               "@12 STATE T-1 cancelled close",
               "@12 TL T-1 cancelled cancel/sensor '*",
               "@12 ALERT T-1 cancelled sensor=cancel");
        ck_assert_uint_eq(incidents_open_count(m), 0);
        ck_assert_uint_eq(incidents_get_stats(m)->cancelled, 1);
        outputs_are(SIREN_OFF, false);
        /* A second cancel has nothing to cancel. */
        apply_at(13, dec(DECISION_CANCEL, INCIDENT_FALL, SEVERITY_CRITICAL, "cancel", 13));
        expect_nothing();
}
END_TEST

START_TEST(test_fall_prealarm_cancelled_over_mqtt_names_who) {
        struct decision d;

        apply_at(0, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "band", 0));
        forget();
        d = dec(DECISION_CANCEL, INCIDENT_FALL, SEVERITY_CRITICAL, NULL, 8);
        now_s = 8;
        ck_assert_int_eq(incidents_apply(m, &d, "ye", "mqtt", &out), 0);
        EXPECT("@8 PROMPT T-1 stop",
               "@8 LOG incident T-1 cancelled by the resident (ye via mqtt): *",
               "@8 STATE T-1 cancelled close",
               "@8 TL T-1 cancelled ye/mqtt '*",
               "@8 ALERT T-1 cancelled sensor=-");
}
END_TEST

START_TEST(test_fall_prealarm_not_cancelled_is_promoted_and_called) {
        apply_at(0, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "band", 0));
        forget();
        /* The window ran out: the rule raises the fall. */
        raise_at(30, INCIDENT_FALL, SEVERITY_CRITICAL, "band");
        EXPECT("@30 LOG incident T-1 opened: fall (critical) — *",
               "@30 PROMPT T-1 stop",
               "@30 ALERT T-1 open sensor=band",
               "@30 STATE T-1 open",
               "@30 TL T-1 opened rule/rule '*",
               "@30 TL T-1 called ladder/ladder '*",
               "@30 CALL T-1 seq=1 fall sensor=band",
               "@30 NOTIFY T-1 li 'alert' r0 open",
               "@30 TL T-1 notified li/mqtt 'alert'",
               "@30 TL T-1 notified li/webhook 'alert'",
               "@30 NOTIFY T-1 wang 'alert' r0 open",
               "@30 TL T-1 notified wang/mqtt 'alert'",
               "@30 LOG incident T-1: volunteer notified (2 contacts)",
               "@30 NOTIFY T-1 zhao 'alert' r0 open",
               "@30 TL T-1 notified zhao/mqtt 'alert'",
               "@30 LOG incident T-1: grid notified (1 contact)");
        ck_assert(!incidents_in_prealarm(m, NULL));
        outputs_are(SIREN_OFF, false);
        /* Its repeats count from the promotion. */
        ck_assert_uint_eq(incidents_next_deadline(m), mono_at(90));
        /* A cancel now is too late: only the window of a later fall. */
        apply_at(40, dec(DECISION_CANCEL, INCIDENT_FALL, SEVERITY_CRITICAL, "cancel", 40));
        EXPECT("@40 PROMPT T-1 stop",
               "@40 TL T-1 prealarm_cancelled cancel/sensor '*");
        ck_assert_uint_eq(incidents_open_count(m), 1);
}
END_TEST

START_TEST(test_another_fall_during_an_open_fall_incident_is_on_its_record) {
        apply_at(0, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "band", 0));
        raise_at(30, INCIDENT_FALL, SEVERITY_CRITICAL, "band");
        forget();
        apply_at(300, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "band", 300));
        EXPECT("@300 TL T-1 prealarm band/rule '*",
               "@300 LOG incident T-1: *",
               "@300 PROMPT T-1 start 30s");
        ck_assert_uint_eq(incidents_open_count(m), 1);
}
END_TEST

/* A second detector's fall while the pre-alarm runs joins it: on its
 * record, no second prompt (the resident's window is the first one's). */
START_TEST(test_a_fall_joining_a_running_prealarm_is_on_its_record_without_a_new_prompt) {
        apply_at(0, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "band", 0));
        forget();
        apply_at(8, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "pir", 8));
        EXPECT("@8 TL T-1 prealarm pir/rule '*",
               "@8 LOG incident T-1: *");
        ck_assert(incidents_in_prealarm(m, "T-1"));
        ck_assert_uint_eq(incidents_open_count(m), 1);
}
END_TEST

/* docs/ALARM-SCHEMA.md: the prompt gets {"action": "stop"} "when it is
 * cancelled or called in". A second fall while the first is open starts
 * a prompt; when its window runs out (the rule raises the fall) the
 * prompt must stop as it does for the first. */
START_TEST(test_another_fall_prompt_stops_when_its_window_runs_out) {
        apply_at(0, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "band", 0));
        raise_at(30, INCIDENT_FALL, SEVERITY_CRITICAL, "band");
        apply_at(300, dec(DECISION_PREALARM, INCIDENT_FALL, SEVERITY_CRITICAL, "band", 300));
        forget();
        raise_at(330, INCIDENT_FALL, SEVERITY_CRITICAL, "band");
        collect();
        for (size_t i = 0; i < n_lines; i++)
                if (strcmp(lines[i], "@330 PROMPT T-1 stop") == 0)
                        return;
        ck_abort_msg("the second fall's prompt is never stopped:%s", dump(0));
}
END_TEST

/* --- after a restart ------------------------------------------------------------------- */

static void restore(const char *id, enum incident_type t, enum severity s, const char *state, const char *sid,
                    uint64_t opened_s_ago, unsigned calls, bool person) {
        struct incident_record rec = {
                .id = id, .type = t, .severity = s, .state = state, .sensor = sensor(sid), .reason = "as stored",
                .opened_at = wall_at(1000) - SEC(opened_s_ago), .calls = calls, .person_answered = person,
        };

        ck_assert_int_eq(incidents_restore(m, &rec), 0);
}

static size_t count_lines(const char *want);

/* Issue 15: an incident reported to a receiver but not yet called in is
 * still called in at its dispatch step after a restart, is not reported
 * again, and its close sends the restore. */
START_TEST(test_restart_keeps_the_dispatch_step_of_an_incident_only_reported_to_a_receiver) {
        struct incident_record rec = {
                .id = "OLD-9", .type = INCIDENT_WATER_LEAK, .severity = SEVERITY_URGENT, .state = "open",
                .sensor = SENSOR_NONE, .reason = "as stored", .opened_at = wall_at(1000) - SEC(10), .calls = 0,
                .reports = 1,
        };

        teardown();
        setup_with("[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\naccount = 1234\n"
                   "[escalation urgent]\nladder = receiver:arc 0s, dispatch 60s\n");
        rec.sensor = sensor("leak");
        ck_assert_int_eq(incidents_restore(m, &rec), 0);
        resume_at(1000);
        drive_to(1100);
        collect();
        ck_assert_msg(count_lines("* REPORT *") == 0, "reported again after the restart:%s", dump(0));
        ck_assert_msg(count_lines("* CALL OLD-9 seq=1 water_leak sensor=leak") == 1, "not called in:%s", dump(0));
        n_lines = 0;
        ck_assert_int_eq(ack_at(1200, "OLD-9", "resolved", "zhao", "ctl", NULL), ACK_APPLIED);
        collect();
        ck_assert_msg(count_lines("@1200 REPORT OLD-9 arc restore water_leak sensor=leak") == 1, "%s", dump(0));
        n_lines = 0;
}
END_TEST

START_TEST(test_restart_calls_an_interrupted_prealarm_now_and_does_not_notify_an_acked_one_again) {
        /* Two incidents were open when the hub stopped (the fall 10 s into its
         * window); it starts again at 1000 s. */
        restore("OLD-1", INCIDENT_WATER_LEAK, SEVERITY_URGENT, "acked", "leak", 100, 0, true);
        restore("OLD-2", INCIDENT_FALL, SEVERITY_CRITICAL, "prealarm", "band", 10, 0, false);
        ck_assert_uint_eq(incidents_open_count(m), 2);
        ck_assert_uint_eq(incidents_get_stats(m)->opened, 0);
        resume_at(1000);
        EXPECT("@1000 LOG incident OLD-1 (water_leak, acked) is still open from before the restart",
               "@1000 LOG incident OLD-2 (fall, prealarm) is still open from before the restart",
               "@1000 LOG WARN incident OLD-2: its pre-alarm was interrupted by a restart and not cancelled; "
               "calling now",
               "@1000 LOG incident OLD-2 opened: fall (critical) — *",
               "@1000 PROMPT OLD-2 stop",
               "@1000 ALERT OLD-2 open sensor=band",
               "@1000 STATE OLD-2 open",
               "@1000 TL OLD-2 opened rule/rule '*",
               "@1000 TL OLD-2 called ladder/ladder '*",
               "@1000 CALL OLD-2 seq=1 fall sensor=band",
               "@1000 NOTIFY OLD-2 li 'alert' r0 open",
               "@1000 TL OLD-2 notified li/mqtt 'alert'",
               "@1000 TL OLD-2 notified li/webhook 'alert'",
               "@1000 NOTIFY OLD-2 wang 'alert' r0 open",
               "@1000 TL OLD-2 notified wang/mqtt 'alert'",
               "@1000 LOG incident OLD-2: volunteer notified (2 contacts)",
               "@1000 NOTIFY OLD-2 zhao 'alert' r0 open",
               "@1000 TL OLD-2 notified zhao/mqtt 'alert'",
               "@1000 LOG incident OLD-2: grid notified (1 contact)");
        /* The acked leak: steps already due (volunteer 0 s, grid 60 s) count
         * as reached without a notice; its onsite clock restarts now. */
        drive_to(1499);
        /* only the promoted fall's repeats */
        collect();
        for (size_t i = 0; i < n_lines; i++)
                ck_assert_msg(strstr(lines[i], "OLD-2 ") != NULL, "%s", dump(0));
        n_lines = 0;
        ck_assert_int_eq(ack_at(1500, "OLD-2", "arrived", "zhao", "mqtt", NULL), ACK_APPLIED);
        forget();
        drive_to(1600);
        EXPECT("@1600 LOG incident OLD-1: nobody on site in time — calling the dispatch center",
               "@1600 TL OLD-1 called ladder/ladder 'as stored'",
               "@1600 CALL OLD-1 seq=1 water_leak sensor=leak");
        /* A person had answered the leak: an arrival is news to the tiers reached. */
        ck_assert_int_eq(ack_at(1700, "OLD-1", "arrived", "wang", "mqtt", NULL), ACK_APPLIED);
        collect();
        ck_assert_str_eq(lines[4], "@1700 NOTIFY OLD-1 li 'update' r0 onsite");
        ck_assert_str_eq(lines[9], "@1700 NOTIFY OLD-1 zhao 'update' r0 onsite");
        n_lines = 0;
}
END_TEST

START_TEST(test_restart_notifies_an_open_incident_again_but_never_calls_twice) {
        restore("OLD-1", INCIDENT_FIRE, SEVERITY_CRITICAL, "open", "smoke", 300, 1, false);
        resume_at(1000);
        EXPECT("@1000 LOG incident OLD-1 (fire, open) is still open from before the restart");
        outputs_are(SIREN_CONTINUOUS, true);
        drive_to(1000);
        EXPECT("@1000 NOTIFY OLD-1 li 'alert' r0 open",
               "@1000 TL OLD-1 notified li/mqtt 'alert'",
               "@1000 TL OLD-1 notified li/webhook 'alert'",
               "@1000 NOTIFY OLD-1 wang 'alert' r0 open",
               "@1000 TL OLD-1 notified wang/mqtt 'alert'",
               "@1000 LOG incident OLD-1: volunteer notified (2 contacts)",
               "@1000 NOTIFY OLD-1 zhao 'alert' r0 open",
               "@1000 TL OLD-1 notified zhao/mqtt 'alert'",
               "@1000 LOG incident OLD-1: grid notified (1 contact)");
        /* Repeats count anew. */
        drive_to(1060);
        collect();
        ck_assert_uint_eq(n_lines, 7);
        ck_assert_str_eq(lines[0], "@1060 NOTIFY OLD-1 li 'repeat' r1 open");
        n_lines = 0;
        /* A further sensor after the restart: the next call goes on from
         * the count in the store. */
        raise_at(1070, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke2");
        collect();
        ck_assert_str_eq(lines[4], "@1070 CALL OLD-1 seq=2 update fire sensor=smoke2");
        n_lines = 0;
        /* The relays were cut for it before the restart. */
        now_s = 1100;
        ck_assert_int_eq(ack_at(1100, "OLD-1", "resolved", "zhao", "mqtt", NULL), ACK_APPLIED);
        forget();
        relay_at(1101, false);
        EXPECT("@1101 TL OLD-1 power_restored relay/output 'the charger's power is back'");
}
END_TEST

START_TEST(test_restart_keeps_the_sensors_and_arrivals_of_an_incident) {
        restore("OLD-1", INCIDENT_FIRE, SEVERITY_CRITICAL, "onsite", "smoke", 300, 2, true);
        incidents_restore_sensor(m, "OLD-1", sensor("smoke2"));
        incidents_restore_arrival(m, "OLD-1", (uint32_t) config_find_contact(cfg, "li"));
        /* Unknown ones are ignored. */
        incidents_restore_sensor(m, "OLD-9", sensor("smoke2"));
        incidents_restore_sensor(m, "OLD-1", UINT32_MAX - 1);
        incidents_restore_arrival(m, "OLD-1", 999);
        resume_at(1000);
        forget();
        /* Someone was there: the siren stays quiet, the ladder stopped. */
        outputs_are(SIREN_OFF, true);
        ck_assert_uint_eq(incidents_next_deadline(m), UINT64_MAX);
        drive_to(5000);
        expect_nothing();
        /* smoke2 had joined before the restart: no update call for it. */
        raise_at(5000, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke2");
        collect();
        for (size_t i = 0; i < n_lines; i++)
                ck_assert_msg(!strstr(lines[i], "CALL"), "%s", dump(0));
        n_lines = 0;
        /* li had arrived: she may call it a false alarm. */
        ck_assert_int_eq(ack_at(5010, "OLD-1", "false_alarm", "li", "mqtt", NULL), ACK_APPLIED);
        forget();
}
END_TEST

START_TEST(test_restart_of_a_fire_acked_only_by_the_center_keeps_the_siren_on) {
        restore("OLD-1", INCIDENT_FIRE, SEVERITY_CRITICAL, "acked", "smoke", 300, 1, false);
        outputs_are(SIREN_CONTINUOUS, true);
        restore("OLD-2", INCIDENT_FIRE, SEVERITY_CRITICAL, "acked", "smoke", 200, 1, true);   /* same key: ignored */
        ck_assert_uint_eq(incidents_open_count(m), 1);
        resume_at(1000);
        forget();
        drive_to(5000);
        expect_nothing();
}
END_TEST

START_TEST(test_restore_refuses_a_record_that_names_nothing_known) {
        struct incident_record rec = { .id = "X", .type = _INCIDENT_TYPE_MAX, .severity = SEVERITY_URGENT,
                                       .state = "open", .sensor = SENSOR_NONE, .opened_at = WALL0 };

        ck_assert_int_eq(incidents_restore(m, &rec), -EINVAL);
        rec.type = INCIDENT_FIRE;
        rec.sensor = (uint32_t) cfg->n_sensors;
        ck_assert_int_eq(incidents_restore(m, &rec), -EINVAL);
        rec.sensor = SENSOR_NONE;
        rec.severity = _SEVERITY_INVALID;
        ck_assert_int_eq(incidents_restore(m, &rec), -EINVAL);
        ck_assert_uint_eq(incidents_open_count(m), 0);
}
END_TEST

/* --- ids and relays ---------------------------------------------------------------------- */

START_TEST(test_rekey_gives_an_open_incident_a_new_id) {
        char id[ACTION_ID_MAX];

        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        forget();
        ck_assert_int_eq(incidents_rekey(m, "T-1", id, sizeof id), 0);
        ck_assert_str_eq(id, "T-2");
        ck_assert_str_eq(incidents_open_id(m, INCIDENT_WATER_LEAK), "T-2");
        ck_assert_int_eq(ack_at(10, "T-1", "ack", "wang", "mqtt", NULL), ACK_UNKNOWN_INCIDENT);
        ck_assert_int_eq(ack_at(10, "T-2", "ack", "wang", "mqtt", NULL), ACK_APPLIED);
        collect();
        ck_assert_str_eq(lines[0], "@10 STATE T-2 acked");
        n_lines = 0;
        ck_assert_int_eq(incidents_rekey(m, "T-1", id, sizeof id), -ENOENT);
}
END_TEST

START_TEST(test_relay_switched_is_on_the_record_of_the_fire_that_cut_it) {
        /* No fire: nothing to record. */
        relay_at(0, true);
        relay_at(0, false);
        expect_nothing();

        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        forget();
        relay_at(1, true);
        EXPECT("@1 TL T-1 power_cut relay/output 'the charger's power is cut'");
        ck_assert_int_eq(ack_at(600, "T-1", "resolved", "zhao", "mqtt", NULL), ACK_APPLIED);
        forget();
        /* The smoke goes on: a new fire takes over the cut, and the power
         * comes back on its record. */
        raise_at(610, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        ck_assert_int_eq(ack_at(900, "T-2", "resolved", "zhao", "mqtt", NULL), ACK_APPLIED);
        forget();
        relay_at(901, false);
        EXPECT("@901 TL T-2 power_restored relay/output 'the charger's power is back'");
        /* Once back, a second "restored" has nothing to say. */
        relay_at(902, false);
        expect_nothing();
}
END_TEST

/* docs/ESCALATION.md: actions.c re-keys an incident whose id was taken in
 * the store (incidents_rekey) after the hub has already driven the relays
 * for it (hub.c settle(): drive_outputs() before actions_run()). The power
 * coming back must be on the record of the incident under its new id, not
 * on the older incident that owned the colliding id. */
START_TEST(test_rekeyed_fire_gets_its_power_restored_row) {
        char id[ACTION_ID_MAX];

        raise_at(0, INCIDENT_FIRE, SEVERITY_CRITICAL, "smoke");
        relay_at(0, true);
        forget();
        ck_assert_int_eq(incidents_rekey(m, "T-1", id, sizeof id), 0);
        ck_assert_str_eq(id, "T-2");
        ck_assert_int_eq(ack_at(600, "T-2", "resolved", "zhao", "mqtt", NULL), ACK_APPLIED);
        forget();
        relay_at(601, false);
        EXPECT("@601 TL T-2 power_restored relay/output 'the charger's power is back'");
}
END_TEST

/* Issue 15: a ladder step "receiver:NAME" reports the incident to that
 * DC-09 receiver once, and closing the incident sends its restore there. */
static size_t count_lines(const char *want) {
        size_t n = 0;

        for (size_t i = 0; i < n_lines; i++)
                n += matches(lines[i], want);
        return n;
}

START_TEST(test_receiver_step_reports_once_and_closing_sends_the_restore) {
        teardown();
        setup_with("[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\naccount = 1234\n"
                   "[escalation urgent]\nladder = receiver:arc 0s, volunteer 60s, receiver:arc 120s\n");
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        collect();
        ck_assert_msg(count_lines("@0 REPORT T-1 arc water_leak sensor=leak") == 1, "%s", dump(0));
        ck_assert_msg(count_lines("* CALL *") == 0, "no dispatch step, no call:%s", dump(0));
        n_lines = 0;
        drive_to(200);
        collect();
        ck_assert_msg(count_lines("* REPORT *") == 0, "reported twice:%s", dump(0));
        ck_assert_msg(count_lines("* NOTIFY T-1 li *") >= 1, "%s", dump(0));
        n_lines = 0;
        ck_assert_int_eq(ack_at(210, "T-1", "resolved", "zhao", "ctl", NULL), ACK_APPLIED);
        collect();
        ck_assert_msg(count_lines("@210 REPORT T-1 arc restore water_leak sensor=leak") == 1, "%s", dump(0));
        n_lines = 0;
}
END_TEST

/* The condition clears: the restore goes then (the incident stays open);
 * it comes back: the alarm again; the close then sends its restore once. */
START_TEST(test_receiver_gets_the_restore_when_the_condition_clears_and_the_alarm_if_it_returns) {
        teardown();
        setup_with("[receiver arc]\nprotocol = dc09\nhost = 127.0.0.1\nport = 5100\naccount = 1234\n"
                   "[escalation urgent]\nladder = receiver:arc 0s, volunteer 0s\n");
        raise_at(0, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        collect();
        ck_assert_msg(count_lines("@0 REPORT T-1 arc water_leak sensor=leak") == 1, "%s", dump(0));
        n_lines = 0;
        apply_at(30, dec(DECISION_CLEAR, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak", 30));
        collect();
        ck_assert_msg(count_lines("@30 REPORT T-1 arc restore water_leak sensor=leak") == 1, "%s", dump(0));
        n_lines = 0;
        raise_at(40, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        collect();
        ck_assert_msg(count_lines("@40 REPORT T-1 arc water_leak sensor=leak") == 1, "%s", dump(0));
        n_lines = 0;
        raise_at(45, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak");
        collect();
        ck_assert_msg(count_lines("* REPORT *") == 0, "reported twice:%s", dump(0));
        n_lines = 0;
        apply_at(50, dec(DECISION_CLEAR, INCIDENT_WATER_LEAK, SEVERITY_URGENT, "leak", 50));
        ck_assert_int_eq(ack_at(60, "T-1", "resolved", "zhao", "ctl", NULL), ACK_APPLIED);
        collect();
        ck_assert_msg(count_lines("* REPORT T-1 arc restore *") == 1, "one restore:%s", dump(0));
        n_lines = 0;
}
END_TEST

int main(void) {
        Suite *s = suite_create("incident");
        TCase *t = tcase_create("incident");

        tcase_add_checked_fixture(t, setup, teardown);
        tcase_add_test(t, test_urgent_nobody_answers_climbs_volunteers_grid_center_with_repeats);
        tcase_add_test(t, test_notices_read_as_documented);
        tcase_add_test(t, test_urgent_acked_at_30s_stops_repeats_and_reaches_no_grid_and_no_center);
        tcase_add_test(t, test_urgent_acked_but_nobody_on_site_reaches_the_next_steps_anyway);
        tcase_add_test(t, test_arrived_without_an_ack_stops_the_ladder);
        tcase_add_test(t, test_a_step_without_contacts_is_skipped_and_the_next_keeps_its_time);
        tcase_add_test(t, test_critical_calls_the_center_and_notifies_everyone_at_once);
        tcase_add_test(t, test_critical_acked_by_a_person_silences_the_siren_at_once);
        tcase_add_test(t, test_critical_acked_by_a_dc09_receiver_is_the_receivers_and_keeps_the_siren);
        tcase_add_test(t, test_sos_is_critical_too);
        tcase_add_test(t, test_second_sensor_joining_a_called_fire_sends_an_update_call);
        tcase_add_test(t, test_second_sensor_before_the_call_is_recorded_and_one_after_it_is_an_update);
        tcase_add_test(t, test_clear_is_recorded_and_the_incident_stays_open);
        tcase_add_test(t, test_resolved_closes_informs_the_reached_tiers_and_drops_notices);
        tcase_add_test(t, test_false_alarm_on_an_urgent_incident_may_come_from_any_volunteer);
        tcase_add_test(t, test_false_alarm_on_a_critical_incident_is_refused_to_a_volunteer_not_on_site);
        tcase_add_test(t, test_false_alarm_on_a_critical_incident_by_the_grid_worker_or_an_operator);
        tcase_add_test(t, test_false_alarm_by_is_configurable);
        tcase_add_test(t, test_unknown_incidents_and_bad_actions_change_nothing);
        tcase_add_test(t, test_warning_goes_to_maintenance_only_and_never_calls);
        tcase_add_test(t, test_warnings_are_per_device_two_devices_two_incidents);
        tcase_add_test(t, test_warning_of_a_device_is_told_once_per_per_device);
        tcase_add_test(t, test_fall_prealarm_prompts_and_a_cancel_closes_it);
        tcase_add_test(t, test_fall_prealarm_cancelled_over_mqtt_names_who);
        tcase_add_test(t, test_fall_prealarm_not_cancelled_is_promoted_and_called);
        tcase_add_test(t, test_another_fall_during_an_open_fall_incident_is_on_its_record);
        tcase_add_test(t, test_a_fall_joining_a_running_prealarm_is_on_its_record_without_a_new_prompt);
        tcase_add_test(t, test_another_fall_prompt_stops_when_its_window_runs_out);
        tcase_add_test(t, test_restart_calls_an_interrupted_prealarm_now_and_does_not_notify_an_acked_one_again);
        tcase_add_test(t, test_restart_notifies_an_open_incident_again_but_never_calls_twice);
        tcase_add_test(t, test_restart_keeps_the_sensors_and_arrivals_of_an_incident);
        tcase_add_test(t, test_restart_of_a_fire_acked_only_by_the_center_keeps_the_siren_on);
        tcase_add_test(t, test_restore_refuses_a_record_that_names_nothing_known);
        tcase_add_test(t, test_rekey_gives_an_open_incident_a_new_id);
        tcase_add_test(t, test_relay_switched_is_on_the_record_of_the_fire_that_cut_it);
        tcase_add_test(t, test_rekeyed_fire_gets_its_power_restored_row);
        tcase_add_test(t, test_receiver_step_reports_once_and_closing_sends_the_restore);
        tcase_add_test(t, test_receiver_gets_the_restore_when_the_condition_clears_and_the_alarm_if_it_returns);
        tcase_add_test(t, test_restart_keeps_the_dispatch_step_of_an_incident_only_reported_to_a_receiver);
        suite_add_tcase(s, t);
        return run_suite(s);
}
