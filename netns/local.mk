noinst_LIBRARIES += netns/libnetns.a
netns_libnetns_a_SOURCES = \
	netns/ns.c netns/ns.h \
	netns/rtnl.c netns/rtnl.h \
	netns/link.c netns/link.h \
	netns/addrpool.c netns/addrpool.h \
	netns/session.c netns/session.h

NETNS_LIBS = netns/libnetns.a $(LIBMNL_LIBS)
