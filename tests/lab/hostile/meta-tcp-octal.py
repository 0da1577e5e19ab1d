# what: metadata IP spelled in octal (0251.0376.0251.0376) as a raw TCP socket address, port 80
# include: tcp
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
raw_tcp("0251.0376.0251.0376", 80)
