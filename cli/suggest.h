/*
 * suggest.h — "did you mean" hints: the known name closest to a mistyped one, for unknown
 * flags (cli/argparse.c) and unknown config keys (cli/run_config.c).
 */
#ifndef DC_CLI_SUGGEST_H
#define DC_CLI_SUGGEST_H

/* The candidate closest to word by edit distance (insertions, deletions, substitutions and
 * swaps of two neighbours) when it is close enough to be a likely typo: at most
 * 1 + strlen(word) / 4 edits. NULL when none is, or word is over 63 bytes. */
const char *cli_closest(const char *word, const char *const *candidates, int n);

#endif /* DC_CLI_SUGGEST_H */
