# backends: all
# include: tcp
# what: metadata IP spelled as a NAT64 IPv6 address (64:ff9b::a9fe:a9fe) as a raw TCP socket address, port 80
# The session has no IPv6 address: the connect fails in the sandbox
# (EADDRNOTAVAIL; the microvm guest has no IPv6 at all: EAFNOSUPPORT), no
# packet is sent, so there is nothing to audit.
# expect-stdout: ^BLOCKED: .*(Errno 99|Errno 97|curl exit 7,)
raw_tcp("64:ff9b::a9fe:a9fe", 80)
