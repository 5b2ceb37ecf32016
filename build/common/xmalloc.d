build/common/xmalloc.o: common/xmalloc.c common/xmalloc.h
common/xmalloc.h:
