build/common/affinity.o: common/affinity.c common/affinity.h \
 common/util.h common/xmalloc.h
common/affinity.h:
common/util.h:
common/xmalloc.h:
