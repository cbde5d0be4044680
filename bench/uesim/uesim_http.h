/* keyburst-uesim --mode http: the roster's UEs register for a service and
 * request MSKs over HTTP with real Digest (libcurl multi on epoll, several
 * threads), at a set concurrency and rate: the control plane's load
 * generator. See docs/uesim.md, "HTTP mode". */
#ifndef KB_UESIM_HTTP_H
#define KB_UESIM_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* True when uesim's own arguments (after the EAL's "--", if any) hold
 * "--mode http": main hands the whole run to kb_uesim_http_main. */
bool kb_uesim_http_wanted(int argc, char **argv);

/* Parse the options and run. Returns the exit status: 0 every request
 * answered as expected, 1 some failed, 2 bad usage or a setup failure. */
int kb_uesim_http_main(int argc, char **argv);

/* The http mode's options, for --help. */
void kb_uesim_http_usage(FILE *out);

/* The Digest password of a roster UE: base64(MRK), MRK the profile's
 * default GBA_ME variant of Ks_NAF (= the roster's MUK), which is what the
 * control plane's roster import provisions. wrong = true flips one bit of
 * the MRK (a UE with the wrong key). out: 45 bytes. Returns 0 or -1. */
int kb_uesim_http_password(const uint8_t muk[32], bool wrong, char out[45]);

#endif
