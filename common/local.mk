noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/log.c common/log.h \
	common/clock.c common/clock.h common/hash.h \
	common/err.c common/err.h \
	common/name.c common/name.h \
	common/ip.c common/ip.h \
	common/hostname.c common/hostname.h \
	common/json.c common/json.h \
	common/audit.c common/audit.h \
	common/httpc.c common/httpc.h \
	common/file.c common/file.h \
	common/cfglex.c common/cfglex.h

COMMON_LIBS = common/libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS)
