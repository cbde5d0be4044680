/* The keyburst command-line tool: one file per command family. Each entry
 * point gets argv starting at its sub-command and returns the exit status
 * (0 ok, 1 the operation failed, 2 bad usage). Errors go to stderr. */
#ifndef KB_CLI_H
#define KB_CLI_H

int kb_cmd_mikey(int argc, char **argv);
int kb_cmd_gba(int argc, char **argv);
int kb_cmd_digest(int argc, char **argv);
int kb_cmd_roster(int argc, char **argv);
int kb_cmd_pcap(int argc, char **argv);
/* pcap acks / verify-acks (tools/cmd_pcap_acks.c), reached through kb_cmd_pcap */
int kb_cmd_pcap_acks(int argc, char **argv);
int kb_cmd_admin(int argc, char **argv);

#endif
