# what: metadata IP spelled in dotted hex (0xa9.0xfe.0xa9.0xfe) as a raw TCP socket address, port 80
# include: tcp
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
raw_tcp("0xa9.0xfe.0xa9.0xfe", 80)
