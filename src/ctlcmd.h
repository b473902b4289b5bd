/* anjuctl's commands on the daemon side (docs/CONTROL.md): status,
 * sensors, incidents, show, answers, get/set of thresholds, walk tests,
 * sensor tests, test calls, the activity report. It listens on the control
 * socket (ctl.c) and sees the hub only through hub.h; main registers it
 * after the hub is built and frees it before the hub. */
#pragma once

struct hub;
struct ctlcmd;

/* Opens [hub] ctl_socket for the hub. Without the socket the home is still
 * watched: a failure is logged and *ret is NULL. */
int ctlcmd_new(struct hub *h, struct ctlcmd **ret);
void ctlcmd_free(struct ctlcmd *c);
