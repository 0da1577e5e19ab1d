/*
 * A transaction under construction: an nftnl batch that starts with BEGIN
 * and, once rules_txn_finish() ran, ends with END; and for each message a
 * description, so an error the kernel reports for one sequence number says
 * which object failed. Every message is for the inet enclave table.
 */
#ifndef ENCLAVE_RULES_TXN_H
#define ENCLAVE_RULES_TXN_H

#include <stddef.h>
#include <stdint.h>

struct nftnl_batch;
struct nlmsghdr;

/* Longest description of one batch message ("add rule guard #3"). */
#define RULES_WHAT_MAX	64

struct rules_txn {
	struct nftnl_batch *batch;
	uint32_t seq_begin;	/* sequence number of BEGIN */
	uint32_t seq;		/* next sequence number */
	char (*what)[RULES_WHAT_MAX];	/* what[i]: message seq_begin + 1 + i */
	size_t nwhat, capwhat;
	int finished;
};

int rules_txn_init(struct rules_txn *t, uint32_t seq);
/* Append END; the batch is then ready for nft_send(). */
int rules_txn_finish(struct rules_txn *t);
/* Messages between BEGIN and END. */
size_t rules_txn_count(const struct rules_txn *t);
/* Description of message seq (an nft_what_fn; arg is the txn). */
const char *rules_txn_what(const void *txn, uint32_t seq);
void rules_txn_free(struct rules_txn *t);

/*
 * Start one object message (type, flags | NLM_F_ACK) in the batch,
 * described by fmt; the caller adds its payload, then calls
 * rules_txn_commit() to close it.
 */
struct nlmsghdr *rules_txn_msg(struct rules_txn *t, uint16_t type,
    uint16_t flags, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int rules_txn_commit(struct rules_txn *t);

#endif /* ENCLAVE_RULES_TXN_H */
