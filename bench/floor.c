/* (c) What idle RSS the libraries alone cost: a program linked against
 * exactly anjud's libraries (libanju and its dependencies, docs/DESIGN.md §2), which
 * does nothing but the same initialisation anjud does at start, prints its
 * VmRSS after each step. anjud's idle RSS minus this floor is what anjud
 * itself holds (docs/PERFORMANCE.md). */
#include <curl/curl.h>
#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"

/* A reference to libanju's hub pulls in every module anjud runs, so every
 * library anjud needs stays a DT_NEEDED of this program (--as-needed). */
static int (*volatile keep)(struct config *, struct hub **) = hub_new;

static long rss_kb(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long v = -1;

        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        v = atol(line + 6);
        if (f)
                fclose(f);
        return v;
}

int main(void) {
        char dir[] = "/tmp/anju-floor-XXXXXX", path[64];
        unsigned char mac[32];
        unsigned maclen = 0;
        sqlite3 *db = NULL;
        long base;

        if (!keep)
                return 1;
        base = rss_kb();
        printf("library floor: linked like anjud, nothing done yet         %6ld kB\n", base);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
                return 1;
        printf("library floor: + curl_global_init, mosquitto_lib_init      %6ld kB\n", rss_kb());
        HMAC(EVP_sha256(), "k", 1, (const unsigned char *) "m", 1, mac, &maclen);
        printf("library floor: + one HMAC-SHA256 (OpenSSL's providers)     %6ld kB\n", rss_kb());
        if (!mkdtemp(dir))
                return 1;
        snprintf(path, sizeof path, "%s/floor.db", dir);
        if (sqlite3_open(path, &db) != SQLITE_OK ||
            sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES(1);", NULL, NULL,
                         NULL) != SQLITE_OK)
                return 1;
        printf("library floor: + a WAL database opened and written         %6ld kB\n", rss_kb());
        sqlite3_close(db);
        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        if (system(path) != 0)
                return 1;
        printf("target idle RSS <= 4096 kB (DESIGN.md §11): the libraries alone %s it\n",
               base > 4096 ? "already exceed" : "leave room for");
        curl_global_cleanup();
        mosquitto_lib_cleanup();
        return 0;
}
