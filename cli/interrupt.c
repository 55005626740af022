/* interrupt.c — SIGINT and SIGTERM stop the long commands cleanly (see interrupt.h). */
#include "cli/interrupt.h"

#include <signal.h>
#include <string.h>

/* The signal that arrived, 0 while none has: the handler's only work. */
static volatile sig_atomic_t received;

static void on_signal(int sig)
{
    received = sig;
}

void cli_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_RESETHAND: a second Ctrl-C gets the default action and ends the process;
     * SA_RESTART: reads and writes in progress are not cut short by the first */
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_interrupted(void)
{
    return received != 0;
}

int cli_interrupt_status(void)
{
    return received ? 128 + received : 0;
}

const char *cli_interrupt_name(void)
{
    switch (received) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    default:
        return "a signal";
    }
}
