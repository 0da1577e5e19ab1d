# what: metadata IP spelled as one decimal number (2852039166) as a raw TCP socket address, port 80
# include: tcp
# expect-denied: 169.254.169.254 80 tcp blocked_range
# expect-stdout: ^BLOCKED
raw_tcp("2852039166", 80)
