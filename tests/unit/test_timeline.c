/* Placeholder replaced by the timeline replay tests. */
#include "unit.h"
int main(void) { return 1; }
