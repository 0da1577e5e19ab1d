# what: metadata IP spelled as a v4-mapped IPv6 address (::ffff:169.254.169.254) as a raw TCP socket address, port 80
# include: tcp
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
raw_tcp("::ffff:169.254.169.254", 80)
