noinst_LIBRARIES += netns/libnetns.a
netns_libnetns_a_SOURCES = \
	netns/name.c netns/name.h

NETNS_LIBS = netns/libnetns.a
