# what: metadata IP spelled in three parts (a.b.16bit) (169.254.43518) as a raw TCP socket address, port 80
# include: tcp
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
raw_tcp("169.254.43518", 80)
