build/common/util.o: common/util.c common/util.h common/xmalloc.h
common/util.h:
common/xmalloc.h:
