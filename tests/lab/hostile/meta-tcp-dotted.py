# what: metadata IP spelled dotted quad (169.254.169.254) as a raw TCP socket address, port 80
# include: tcp
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
raw_tcp("169.254.169.254", 80)
