# what: metadata IP spelled as a v4-compatible IPv6 address (::169.254.169.254) as a raw TCP socket address, port 80
# include: tcp
# The session has no IPv6 address: the connect fails in the sandbox
# (EADDRNOTAVAIL; the microvm guest has no IPv6 at all: EAFNOSUPPORT), no
# packet is sent, so there is nothing to audit.
# expect-stdout: ^BLOCKED: .*(Errno 99|Errno 97|curl exit 7,)
raw_tcp("::169.254.169.254", 80)
