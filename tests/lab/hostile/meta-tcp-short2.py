# what: metadata IP spelled in two parts (a.24bit) (169.16689662) as a raw TCP socket address, port 80
# include: tcp
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
raw_tcp("169.16689662", 80)
