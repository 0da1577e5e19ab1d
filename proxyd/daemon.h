#ifndef ENCLAVE_PROXYD_DAEMON_H
#define ENCLAVE_PROXYD_DAEMON_H

/* enclave-proxyd's whole life: arguments, start-up, signals, shutdown.
 * Returns the process exit status. */
int proxyd_main(int argc, char **argv);

#endif
