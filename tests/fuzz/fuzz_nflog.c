#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>

#include "common/ip.h"
#include "rules/nflog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs longer than this are only parsed raw, not also wrapped. */
#define FUZZ_WRAP_MAX	4096

static void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* What every accepted record must satisfy, whatever the input. */
static void fuzz_record(const struct nflog_record *r, size_t size)
{
	char buf[IP_STRLEN];
	size_t i;

	fuzz_check(r->family == AF_INET || r->family == AF_INET6);
	fuzz_check(r->src.family == r->family && r->dst.family == r->family);
	fuzz_check(ip_format(&r->src, buf, sizeof(buf)) == 0);
	fuzz_check(ip_format(&r->dst, buf, sizeof(buf)) == 0);
	fuzz_check(r->cap_len <= size);
	fuzz_check(memchr(r->prefix, '\0', sizeof(r->prefix)) != NULL);
	for (i = 0; r->prefix[i] != '\0'; i++)
		fuzz_check(r->prefix[i] >= 0x20 && r->prefix[i] < 0x7f);
	fuzz_check(nflog_reason_name(r->prefix) != NULL);
	fuzz_check(nflog_proto_name(r->proto) != NULL);
	if (!(r->flags & NFLOG_REC_PORTS))
		fuzz_check(r->sport == 0 && r->dport == 0);
	if (!(r->flags & NFLOG_REC_ICMP))
		fuzz_check(r->icmp_type == 0);
	if (r->flags & NFLOG_REC_FRAGMENT)
		fuzz_check(!(r->flags & (NFLOG_REC_PORTS | NFLOG_REC_ICMP |
		    NFLOG_REC_TRUNCATED)));
	if (!(r->flags & NFLOG_REC_MARK))
		fuzz_check(r->mark == 0);
}

/* The same bytes as the payload of a well-formed message, so the IP
 * parser is exercised even by inputs that are not netlink at all. */
static void fuzz_wrapped(const uint8_t *data, size_t size)
{
	size_t attr = NLA_HDRLEN + size;
	size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) +
	    NLA_ALIGN(attr);
	struct nlmsghdr nlh = { 0 };
	struct nfgenmsg nfg = { 0 };
	struct nlattr nla = { 0 };
	struct nflog_record r;
	char err[128];
	uint8_t *buf;

	if (size > FUZZ_WRAP_MAX || (buf = calloc(1, len)) == NULL)
		return;
	nlh.nlmsg_len = (uint32_t)len;
	nlh.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	nfg.nfgen_family = AF_UNSPEC;
	nla.nla_len = (uint16_t)attr;
	nla.nla_type = NFULA_PAYLOAD;
	memcpy(buf, &nlh, sizeof(nlh));
	memcpy(buf + NLMSG_HDRLEN, &nfg, sizeof(nfg));
	memcpy(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfg)), &nla,
	    sizeof(nla));
	if (size > 0)
		memcpy(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfg)) +
		    NLA_HDRLEN, data, size);
	if (nflog_parse(buf, len, &r, err, sizeof(err)) == 0)
		fuzz_record(&r, len);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nflog_record r;
	char err[128];

	err[0] = '\0';
	if (nflog_parse(data, size, &r, err, sizeof(err)) == 0)
		fuzz_record(&r, size);
	else
		fuzz_check(err[0] != '\0');
	fuzz_check(nflog_parse(data, size, &r, NULL, 0) == 0 ||
	    err[0] != '\0');
	fuzz_wrapped(data, size);
	return 0;
}
