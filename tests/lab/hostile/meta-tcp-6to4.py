# what: metadata IP spelled as a 6to4 IPv6 address (2002:a9fe:a9fe::1) as a raw TCP socket address, port 80
# include: tcp
# The session has no IPv6 address: the connect fails in the sandbox
# (EADDRNOTAVAIL; the microvm guest has no IPv6 at all: EAFNOSUPPORT), no
# packet is sent, so there is nothing to audit.
# expect-stdout: ^BLOCKED: .*(Errno 99|Errno 97|curl exit 7,)
raw_tcp("2002:a9fe:a9fe::1", 80)
