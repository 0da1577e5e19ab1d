# what: control: the gateway as an explicit proxy, CONNECT allowed.test:80, then plain HTTP for allowed.test through the tunnel works
# include: http
# expect-allowed: allowed.test http
# inet: allow allowed.test
# expect-stdout: (?s)STATUS: HTTP/1.1 200 Connection established\nSTATUS: HTTP/1.1 200 OK\nPAGE: hello from allowed.test
import socket


gw = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
report(exchange(gw, 3128, [b"CONNECT allowed.test:80 HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n",
                           b"GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n"], pause=1.0))
