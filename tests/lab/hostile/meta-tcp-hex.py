# what: metadata IP spelled as one hex number (0xa9fea9fe) as a raw TCP socket address, port 80
# include: tcp
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
raw_tcp("0xa9fea9fe", 80)
